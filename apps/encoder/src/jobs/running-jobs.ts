import type { FfmpegProgress } from '../clients/ffmpeg.runner';
import type { TranscodeKind } from './transcode.queue';

export interface RunningJob {
  jobId: string;
  kind: TranscodeKind;
  keyId?: string;
  pid: number;
  startedAt: number;
  progress?: FfmpegProgress;
}

/** The ffmpeg processes this replica runs, for stats and shutdown. */
export class RunningJobs {
  private readonly jobs = new Map<string, RunningJob>();

  add(job: RunningJob): void {
    this.jobs.set(job.jobId, job);
  }

  update(jobId: string, progress: FfmpegProgress): void {
    const job = this.jobs.get(jobId);
    if (job) job.progress = progress;
  }

  remove(jobId: string): void {
    this.jobs.delete(jobId);
  }

  list(): RunningJob[] {
    return [...this.jobs.values()];
  }
}
