import type Redis from 'ioredis';

import type { HistoryEntry, Orchestration } from '../schemas/orchestration.types';

/** History entries kept per orchestration; older ones are trimmed. */
const HISTORY_LIMIT = 500;

// Creates the record, its index entries and the Idempotency-Key mapping in one step, unless the
// key already maps to an orchestration: then returns that id and the stored request fingerprint.
const CREATE_SCRIPT = `
if KEYS[1] ~= '' then
  local existing = redis.call('GET', KEYS[1])
  if existing then return existing end
  redis.call('SET', KEYS[1], ARGV[4], 'EX', ARGV[5])
end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
redis.call('SET', KEYS[4], ARGV[3])
redis.call('SET', KEYS[5], ARGV[3])
return false
`;

// Saves a finished orchestration with a TTL on the record, its history and media state, and on
// the stream and room lookups that still point to it. Events for it stop being recorded then.
const FINISH_SCRIPT = `
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[3], ARGV[2])
redis.call('DEL', KEYS[4])
for i = 5, 6 do
  if redis.call('GET', KEYS[i]) == ARGV[3] then redis.call('EXPIRE', KEYS[i], ARGV[2]) end
end
`;

export interface CreateResult {
  created: boolean;
  id: string;
  /** Fingerprint of the request stored with the Idempotency-Key, when one was given. */
  fingerprint?: string;
}

/** Orchestration records, their history and event-driven media state in Redis. */
export class OrchestrationStore {
  private readonly base: string;

  constructor(
    private readonly redis: Redis,
    keyPrefix: string,
    /** How long a stopped or failed orchestration is kept, with its history and media state. */
    private readonly retentionSeconds = 30 * 86400,
    private readonly idempotencyTtlSeconds = 24 * 3600,
  ) {
    this.base = `${keyPrefix}:orchestrator`;
  }

  private recordKey(id: string): string {
    return `${this.base}:orch:${id}`;
  }

  /** Stores a new orchestration, or returns the one an earlier request with the same key created. */
  async create(record: Orchestration, fingerprint: string): Promise<CreateResult> {
    const { request } = record;
    const idemKey = record.idempotencyKey ? `${this.base}:idem:${record.idempotencyKey}` : '';
    const existing = (await this.redis.eval(
      CREATE_SCRIPT,
      5,
      idemKey,
      this.recordKey(record.id),
      `${this.base}:index`,
      `${this.base}:by-stream:${request.app}/${request.name}`,
      `${this.base}:by-room:${request.room.name}`,
      JSON.stringify(record),
      Date.parse(record.createdAt),
      record.id,
      JSON.stringify({ id: record.id, fingerprint }),
      this.idempotencyTtlSeconds,
    )) as string | null;
    if (!existing) return { created: true, id: record.id };
    const stored = JSON.parse(existing) as { id: string; fingerprint: string };
    return { created: false, id: stored.id, fingerprint: stored.fingerprint };
  }

  async get(id: string): Promise<Orchestration | undefined> {
    const text = await this.redis.get(this.recordKey(id));
    return text ? (JSON.parse(text) as Orchestration) : undefined;
  }

  /** Saves the record. Only the flow worker that owns the lock on the orchestration's job calls this. */
  async save(record: Orchestration): Promise<void> {
    record.updatedAt = new Date().toISOString();
    const key = this.recordKey(record.id);
    if (record.status !== 'stopped' && record.status !== 'failed') {
      await this.redis.set(key, JSON.stringify(record));
      return;
    }
    await this.redis.eval(
      FINISH_SCRIPT,
      6,
      key,
      `${key}:history`,
      `${key}:media`,
      `${key}:stop`,
      `${this.base}:by-stream:${record.request.app}/${record.request.name}`,
      `${this.base}:by-room:${record.request.room.name}`,
      JSON.stringify(record),
      String(this.retentionSeconds),
      record.id,
    );
  }

  /**
   * Returns one page of orchestrations, newest first, and the total. Index entries whose record
   * has expired are removed on the way.
   */
  async list(limit: number, offset = 0): Promise<{ records: Orchestration[]; total: number }> {
    const index = `${this.base}:index`;
    const ids = await this.redis.zrevrange(index, offset, offset + limit - 1);
    const texts = ids.length > 0 ? await this.redis.mget(ids.map((id) => this.recordKey(id))) : [];
    const expired = ids.filter((_id, position) => !texts[position]);
    if (expired.length > 0) await this.redis.zrem(index, ...expired);
    const records = texts.filter((text): text is string => Boolean(text)).map((text) => JSON.parse(text) as Orchestration);
    return { records, total: await this.redis.zcard(index) };
  }

  /**
   * Records a stop requested while the start flow runs. It lives beside the record because only
   * the flow worker saves the record.
   */
  async requestStop(id: string): Promise<void> {
    await this.redis.set(`${this.recordKey(id)}:stop`, '1');
  }

  /** Removes a requested stop and returns whether there was one, so only one caller acts on it. */
  async takeStopRequest(id: string): Promise<boolean> {
    return (await this.redis.del(`${this.recordKey(id)}:stop`)) === 1;
  }

  async idForStream(app: string, name: string): Promise<string | null> {
    return this.redis.get(`${this.base}:by-stream:${app}/${name}`);
  }

  async idForRoom(roomName: string): Promise<string | null> {
    return this.redis.get(`${this.base}:by-room:${roomName}`);
  }

  async appendHistory(id: string, entry: Omit<HistoryEntry, 'time'>): Promise<void> {
    const key = `${this.recordKey(id)}:history`;
    const line = JSON.stringify({ time: new Date().toISOString(), ...entry });
    await this.redis.multi().rpush(key, line).ltrim(key, -HISTORY_LIMIT, -1).exec();
  }

  async history(id: string): Promise<HistoryEntry[]> {
    const lines = await this.redis.lrange(`${this.recordKey(id)}:history`, 0, -1);
    return lines.map((line) => JSON.parse(line) as HistoryEntry);
  }

  /** Media state kept up to date by events (publish state, transcode state, playlist path). */
  async setMedia(id: string, fields: Record<string, string>): Promise<void> {
    await this.redis.hset(`${this.recordKey(id)}:media`, fields);
  }

  async media(id: string): Promise<Record<string, string>> {
    return this.redis.hgetall(`${this.recordKey(id)}:media`);
  }
}
