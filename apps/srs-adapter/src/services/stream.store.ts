import type { Redis } from '@castplane/redis';

/** A stream as stored in Redis. The key and playback secret are secret: never log a record. */
export interface StreamRecord {
  id: string;
  app: string;
  name: string;
  key: string;
  playbackSecret: string;
  dvr: boolean;
  playback: 'public' | 'signed';
  reconnectWindowSeconds: number;
  metadata: Record<string, string>;
  requestId: string;
  createdAt: number;
  updatedAt: number;
  state: 'idle' | 'live' | 'reconnecting';
  publishEnabled: boolean;
  publisherClientId: string;
  publisherIp: string;
  publishedAt: number;
  sessionId: string;
  sessionStartedAt: number;
  lastUnpublishAt: number;
  serverStreamId: string;
}

export type NewStream = Pick<
  StreamRecord,
  'id' | 'app' | 'name' | 'key' | 'playbackSecret' | 'dvr' | 'playback' | 'reconnectWindowSeconds' | 'metadata' | 'requestId' | 'createdAt'
>;

export interface Recording {
  file: string;
  bytes: number;
  durationSeconds?: number;
  createdAt: string;
}

// Creates the stream, its name index, request index and list entry in one step. A retry with the
// same requestId returns the stream created the first time.
const CREATE = `
local existing = redis.call('GET', KEYS[1])
if ARGV[2] ~= '' then
  local previous = redis.call('GET', KEYS[2])
  if previous then return {'existing', previous} end
end
if existing then return {'conflict', existing} end
redis.call('HSET', KEYS[3], unpack(cjson.decode(ARGV[3])))
redis.call('SET', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[1]) end
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
return {'created', ARGV[1]}
`;

// Claims the publisher slot for a client. Returns the outcome and the session id.
const CLAIM = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing', ''} end
local s = redis.call('HMGET', KEYS[1], 'state', 'publisherClientId', 'sessionId', 'lastUnpublishAt', 'reconnectWindowSeconds')
local state, publisher, session = s[1], s[2], s[3]
local now = tonumber(ARGV[3])
if state == 'live' and publisher == ARGV[1] then return {'duplicate', session} end
if state == 'live' and ARGV[4] ~= 'force' then return {'busy', session, publisher} end
local outcome = 'published'
-- A takeover (state live, forced) continues the session, like a reconnect inside the window.
if state == 'live' or (state == 'reconnecting' and now - tonumber(s[4]) <= tonumber(s[5]) * 1000) then
  outcome = 'reconnected'
else
  session = ARGV[5]
  redis.call('HSET', KEYS[1], 'sessionId', session, 'sessionStartedAt', ARGV[3])
end
redis.call('HSET', KEYS[1], 'state', 'live', 'publisherClientId', ARGV[1], 'publisherIp', ARGV[2],
  'publishedAt', ARGV[3], 'serverStreamId', ARGV[6], 'updatedAt', ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[7])
return {outcome, session, publisher}
`;

// Releases the publisher slot when the current publisher leaves. Other clients are ignored.
const RELEASE = `
local s = redis.call('HMGET', KEYS[1], 'state', 'publisherClientId', 'sessionId', 'reconnectWindowSeconds')
if s[1] ~= 'live' or s[2] ~= ARGV[1] then return {'ignored', ''} end
local window = tonumber(s[4]) or 0
redis.call('HSET', KEYS[1], 'publisherClientId', '', 'lastUnpublishAt', ARGV[2], 'updatedAt', ARGV[2])
if window <= 0 then
  redis.call('HSET', KEYS[1], 'state', 'idle')
  return {'ended', s[3]}
end
redis.call('HSET', KEYS[1], 'state', 'reconnecting')
redis.call('ZADD', KEYS[2], tonumber(ARGV[2]) + window * 1000, ARGV[3])
return {'reconnecting', s[3]}
`;

// Ends a publish now (explicit unpublish, delete, expired window). ARGV[2] 'expire' only ends a
// stream whose reconnect window has passed; ARGV[3] sets publishEnabled when not empty.
const END = `
local s = redis.call('HMGET', KEYS[1], 'state', 'publisherClientId', 'sessionId', 'lastUnpublishAt', 'reconnectWindowSeconds')
if not s[1] then redis.call('ZREM', KEYS[2], ARGV[4]) return {'missing', '', ''} end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'publishEnabled', ARGV[3]) end
if s[1] == 'idle' then redis.call('ZREM', KEYS[2], ARGV[4]) return {'idle', '', ''} end
if ARGV[2] == 'expire' then
  if s[1] ~= 'reconnecting' then redis.call('ZREM', KEYS[2], ARGV[4]) return {'idle', '', ''} end
  if tonumber(ARGV[1]) < tonumber(s[4]) + tonumber(s[5]) * 1000 then return {'waiting', '', ''} end
end
redis.call('HSET', KEYS[1], 'state', 'idle', 'publisherClientId', '', 'updatedAt', ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[4])
return {'ended', s[3], s[2]}
`;

/** Redis persistence of streams, viewers and recordings; every multi-key write is one script. */
export class StreamStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    redis.defineCommand('srsCreate', { numberOfKeys: 4, lua: CREATE });
    redis.defineCommand('srsClaim', { numberOfKeys: 2, lua: CLAIM });
    redis.defineCommand('srsRelease', { numberOfKeys: 2, lua: RELEASE });
    redis.defineCommand('srsEnd', { numberOfKeys: 2, lua: END });
  }

  private key(...parts: string[]): string {
    return [this.prefix, 'srs', ...parts].join(':');
  }

  private get reconnecting(): string {
    return this.key('reconnecting');
  }

  async create(stream: NewStream): Promise<{ outcome: 'created' | 'existing' | 'conflict'; id: string }> {
    const fields: Record<string, string> = {
      ...serialize(stream),
      state: 'idle',
      publishEnabled: '1',
      updatedAt: String(stream.createdAt),
    };
    const [outcome, id] = (await this.call('srsCreate', [
      this.key('name', stream.app, stream.name),
      this.key('request', stream.requestId || '-'),
      this.key('stream', stream.id),
      this.key('streams'),
      stream.id,
      stream.requestId,
      JSON.stringify(Object.entries(fields).flat()),
      String(stream.createdAt),
    ])) as [string, string];
    return { outcome: outcome as 'created', id };
  }

  async get(id: string): Promise<StreamRecord | undefined> {
    const hash = await this.redis.hgetall(this.key('stream', id));
    return hash.id ? deserialize(hash) : undefined;
  }

  async findByName(app: string, name: string): Promise<StreamRecord | undefined> {
    const id = await this.redis.get(this.key('name', app, name));
    return id ? this.get(id) : undefined;
  }

  /** Lists streams in creation order; `state` filters after reading, so pages may be short. */
  async list(offset: number, limit: number): Promise<{ items: StreamRecord[]; total: number }> {
    const [ids, total] = await Promise.all([
      this.redis.zrange(this.key('streams'), offset, offset + limit - 1),
      this.redis.zcard(this.key('streams')),
    ]);
    const items = await Promise.all(ids.map((id) => this.get(id)));
    return { items: items.filter((item): item is StreamRecord => item !== undefined), total };
  }

  async allIds(): Promise<string[]> {
    return this.redis.zrange(this.key('streams'), 0, -1);
  }

  async update(id: string, fields: Partial<StreamRecord>): Promise<void> {
    const values = serialize(fields);
    if (Object.keys(values).length > 0) await this.redis.hset(this.key('stream', id), values);
  }

  async remove(stream: StreamRecord): Promise<void> {
    const multi = this.redis.multi();
    multi.del(this.key('stream', stream.id), this.key('viewers', stream.id), this.key('dvr', stream.id));
    multi.del(this.key('name', stream.app, stream.name));
    if (stream.requestId) multi.del(this.key('request', stream.requestId));
    multi.zrem(this.key('streams'), stream.id);
    multi.zrem(this.reconnecting, stream.id);
    await multi.exec();
  }

  async claim(id: string, clientId: string, ip: string, now: number, force: boolean, sessionId: string, serverStreamId: string) {
    const [outcome, session, previous] = (await this.call('srsClaim', [
      this.key('stream', id), this.reconnecting, clientId, ip, String(now), force ? 'force' : '', sessionId, serverStreamId, id,
    ])) as [string, string, string?];
    return { outcome: outcome as 'missing' | 'duplicate' | 'busy' | 'published' | 'reconnected', sessionId: session, previous: previous ?? '' };
  }

  async release(id: string, clientId: string, now: number) {
    const [outcome, sessionId] = (await this.call('srsRelease', [
      this.key('stream', id), this.reconnecting, clientId, String(now), id,
    ])) as [string, string];
    return { outcome: outcome as 'ignored' | 'ended' | 'reconnecting', sessionId };
  }

  /** Ends the publish; `expire` ends it only when the reconnect window has passed. */
  async end(id: string, now: number, mode: 'now' | 'expire', publishEnabled?: boolean) {
    let enabled = '';
    if (publishEnabled !== undefined) enabled = publishEnabled ? '1' : '0';
    const [outcome, sessionId, publisher] = (await this.call('srsEnd', [
      this.key('stream', id), this.reconnecting, String(now), mode, enabled, id,
    ])) as [string, string, string];
    return { outcome: outcome as 'missing' | 'idle' | 'waiting' | 'ended', sessionId, publisherClientId: publisher };
  }

  /** Ids of streams whose reconnect window has passed. */
  async dueReconnects(now: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.reconnecting, 0, now, 'LIMIT', 0, 100);
  }

  async addViewer(id: string, clientId: string, protocol: string): Promise<void> {
    await this.redis.hset(this.key('viewers', id), clientId, protocol);
  }

  async removeViewer(id: string, clientId: string): Promise<void> {
    await this.redis.hdel(this.key('viewers', id), clientId);
  }

  async viewers(id: string): Promise<Record<string, number>> {
    const protocols = await this.redis.hvals(this.key('viewers', id));
    const counts: Record<string, number> = { rtmp: 0, flv: 0, hls: 0 };
    for (const protocol of protocols) counts[protocol] = (counts[protocol] ?? 0) + 1;
    return counts;
  }

  async addRecording(id: string, recording: Recording): Promise<void> {
    await this.redis.hset(this.key('dvr', id), recording.file, JSON.stringify(recording));
  }

  async recordings(id: string): Promise<Recording[]> {
    const values = await this.redis.hvals(this.key('dvr', id));
    return values.map((value) => JSON.parse(value) as Recording).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async clearRecordings(id: string): Promise<void> {
    await this.redis.del(this.key('dvr', id));
  }

  private call(command: string, args: string[]): Promise<unknown> {
    return (this.redis as unknown as Record<string, (...values: unknown[]) => Promise<unknown>>)[command](...args);
  }
}

function serialize(fields: Partial<StreamRecord>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (typeof value === 'boolean') out[name] = value ? '1' : '0';
    else if (typeof value === 'object') out[name] = JSON.stringify(value);
    else out[name] = String(value);
  }
  return out;
}

function deserialize(hash: Record<string, string>): StreamRecord {
  const number = (name: string) => Number(hash[name] ?? 0) || 0;
  return {
    id: hash.id,
    app: hash.app,
    name: hash.name,
    key: hash.key,
    playbackSecret: hash.playbackSecret,
    dvr: hash.dvr === '1',
    playback: hash.playback === 'signed' ? 'signed' : 'public',
    reconnectWindowSeconds: number('reconnectWindowSeconds'),
    metadata: JSON.parse(hash.metadata ?? '{}') as Record<string, string>,
    requestId: hash.requestId ?? '',
    createdAt: number('createdAt'),
    updatedAt: number('updatedAt'),
    state: (hash.state ?? 'idle') as StreamRecord['state'],
    publishEnabled: hash.publishEnabled !== '0',
    publisherClientId: hash.publisherClientId ?? '',
    publisherIp: hash.publisherIp ?? '',
    publishedAt: number('publishedAt'),
    sessionId: hash.sessionId ?? '',
    sessionStartedAt: number('sessionStartedAt'),
    lastUnpublishAt: number('lastUnpublishAt'),
    serverStreamId: hash.serverStreamId ?? '',
  };
}
