import { redactText } from '@castplane/logging';

export interface LogEntry {
  seq: number;
  time: string;
  level: 'info' | 'warn' | 'error';
  /** `service` for the encoder's own lines, `ffmpeg` for a job's stderr. */
  source: 'service' | 'ffmpeg';
  jobId?: string;
  msg: string;
}

/** Recent log lines of this replica in a fixed-size ring; credentials in URLs are removed on entry. */
export class LogBuffer {
  private readonly entries: LogEntry[] = [];
  private seq = 0;

  constructor(private readonly capacity: number) {}

  add(entry: Omit<LogEntry, 'seq' | 'time' | 'msg'> & { msg: string }): void {
    this.seq += 1;
    this.entries.push({ ...entry, seq: this.seq, time: new Date().toISOString(), msg: redactText(entry.msg).slice(0, 2000) });
    if (this.entries.length > this.capacity) this.entries.shift();
  }

  /** Returns the newest `limit` lines, oldest first, optionally only one job's. */
  list(filter: { jobId?: string; source?: LogEntry['source']; limit: number }): LogEntry[] {
    const matching = this.entries.filter(
      (entry) => (!filter.jobId || entry.jobId === filter.jobId) && (!filter.source || entry.source === filter.source),
    );
    return matching.slice(-filter.limit);
  }

  get size(): number {
    return this.entries.length;
  }
}
