import type { EventEnvelope } from '@castplane/contracts';
import type { Redis } from '@castplane/redis';

import type { RecordingRecord } from './models';
import { FINAL_RECORDING_STATUSES } from './models';
import { roomKeyOf } from './room.store';

/** How long an encoder event for a job without a recording is kept, in seconds. */
const PARKED_EVENT_TTL_SECONDS = 300;

/** How many overdue `ending` recordings one sweep reads at most. */
const MAX_DUE_PER_SWEEP = 100;

// Saves a new recording and its job index, and returns (and removes) the encoder events that
// arrived for its job before it was saved.
const CREATE_SCRIPT = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])
local parked = redis.call('LRANGE', KEYS[3], 0, -1)
redis.call('DEL', KEYS[3])
return parked
`;

// Returns the recording id of an encoder job, or parks the event for a recording that may still be
// saved. One script, so an event is either matched or parked before CREATE_SCRIPT reads the list.
const FIND_OR_PARK_SCRIPT = `
local egressId = redis.call('HGET', KEYS[1], ARGV[1])
if egressId then return egressId end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return false
`;

// Replaces a recording only if it is unchanged since it was read (compare and set), then keeps the
// ending index and the room's recording slot in step with the new status.
const TRANSITION_SCRIPT = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
if ARGV[5] == '1' and redis.call('HGET', KEYS[3], 'activeRecording') == ARGV[1] then
  redis.call('HSET', KEYS[3], 'activeRecording', '')
end
return 1
`;

export interface Transition {
  recording: RecordingRecord;
  changed: boolean;
}

/**
 * Recordings in Redis, shared by every replica: the records, an index from encoder job id to
 * recording, the deadlines of `ending` recordings, and each room's single recording slot.
 */
export class RecordingStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** How long a recording may stay `ending` before the sweeper marks it failed. */
    private readonly endingTimeoutMs: number,
  ) {}

  private get recordingsKey() {
    return `${this.prefix}:recordings`;
  }

  private get jobsKey() {
    return `${this.prefix}:recordings:jobs`;
  }

  private get endingKey() {
    return `${this.prefix}:recordings:ending`;
  }

  private parkedKey(jobId: string) {
    return `${this.prefix}:recordings:parked:${jobId}`;
  }

  /** Saves a new recording and returns the encoder events that arrived for its job before it existed. */
  async create(recording: RecordingRecord): Promise<EventEnvelope[]> {
    const parked = (await this.redis.eval(
      CREATE_SCRIPT,
      3,
      this.recordingsKey,
      this.jobsKey,
      this.parkedKey(recording.encoderJobId),
      recording.egressId,
      JSON.stringify(recording),
      recording.encoderJobId,
    )) as string[];
    return parked.map((json) => JSON.parse(json) as EventEnvelope);
  }

  /**
   * Returns the recording id for an encoder job. An event for a job with no recording yet is parked
   * for a few minutes, because the encoder may report a job before its recording is saved. Events
   * of other jobs (transcode ladders) expire unread.
   */
  async findByJobOrPark(jobId: string, event: EventEnvelope): Promise<string | undefined> {
    const egressId = (await this.redis.eval(
      FIND_OR_PARK_SCRIPT,
      2,
      this.jobsKey,
      this.parkedKey(jobId),
      jobId,
      JSON.stringify(event),
      String(PARKED_EVENT_TTL_SECONDS),
    )) as string | null;
    return egressId ?? undefined;
  }

  async getRecording(egressId: string): Promise<RecordingRecord | undefined> {
    const json = await this.redis.hget(this.recordingsKey, egressId);
    return json ? (JSON.parse(json) as RecordingRecord) : undefined;
  }

  async listRecordings(): Promise<RecordingRecord[]> {
    const values = await this.redis.hvals(this.recordingsKey);
    return values.map((json) => JSON.parse(json) as RecordingRecord).sort((a, b) => a.createdAtMs - b.createdAtMs);
  }

  /**
   * Applies `change` to a recording with compare-and-set, retrying when another writer got there
   * first. `change` returns undefined to leave the recording as it is. Entering `ending` sets its
   * deadline, and a final status releases the room's slot. Returns undefined for an unknown id.
   */
  async transition(
    egressId: string,
    change: (recording: RecordingRecord) => RecordingRecord | undefined,
  ): Promise<Transition | undefined> {
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const before = await this.redis.hget(this.recordingsKey, egressId);
      if (!before) return undefined;
      const current = JSON.parse(before) as RecordingRecord;
      const next = change(current);
      if (!next) return { recording: current, changed: false };
      const deadline = next.status === 'ending' ? String(next.updatedAtMs + this.endingTimeoutMs) : '';
      const final = FINAL_RECORDING_STATUSES.includes(next.status) ? '1' : '0';
      const swapped = await this.redis.eval(
        TRANSITION_SCRIPT,
        3,
        this.recordingsKey,
        this.endingKey,
        roomKeyOf(this.prefix, next.roomName),
        egressId,
        before,
        JSON.stringify(next),
        deadline,
        final,
      );
      if (swapped === 1) return { recording: next, changed: true };
    }
    throw new Error(`recording ${egressId} kept changing during an update`);
  }

  /**
   * Removes recordings that ended (`complete` or `failed`) before `cutoffMs`, with their job index
   * entries, and returns their ids. The files stay where the encoder wrote them.
   */
  async pruneEnded(cutoffMs: number): Promise<string[]> {
    const old = (await this.listRecordings()).filter(
      (recording) => FINAL_RECORDING_STATUSES.includes(recording.status) && recording.endedAtMs > 0 && recording.endedAtMs < cutoffMs,
    );
    if (old.length === 0) return [];
    await this.redis
      .multi()
      .hdel(this.recordingsKey, ...old.map((recording) => recording.egressId))
      .hdel(this.jobsKey, ...old.map((recording) => recording.encoderJobId))
      .exec();
    return old.map((recording) => recording.egressId);
  }

  /** Returns the ids of `ending` recordings whose deadline is at or before `nowMs`. */
  async dueEnding(nowMs: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.endingKey, '-inf', nowMs, 'LIMIT', 0, MAX_DUE_PER_SWEEP);
  }

  /** Claims the room's single active-recording slot. Returns false when another recording has it. */
  async claimRecordingSlot(room: string, egressId: string): Promise<boolean> {
    const claimed = await this.redis.eval(
      `if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
       local current = redis.call('HGET', KEYS[1], 'activeRecording')
       if current and current ~= '' then return 0 end
       redis.call('HSET', KEYS[1], 'activeRecording', ARGV[1]) return 1`,
      1,
      roomKeyOf(this.prefix, room),
      egressId,
    );
    return claimed === 1;
  }

  async releaseRecordingSlot(room: string, egressId: string): Promise<void> {
    await this.redis.eval(
      `if redis.call('HGET', KEYS[1], 'activeRecording') == ARGV[1] then
         redis.call('HSET', KEYS[1], 'activeRecording', '') end return 1`,
      1,
      roomKeyOf(this.prefix, room),
      egressId,
    );
  }
}
