import { randomBytes } from 'node:crypto';

import type { Redis } from '@castplane/redis';

/** A webhook event reduced to what analytics needs; times are Unix milliseconds. */
export interface RoomActivity {
  type: 'room_started' | 'room_finished' | 'participant_joined' | 'participant_left' | 'participant_connection_aborted';
  at: number;
  roomName: string;
  roomSid: string;
  roomCreatedAt?: number;
  participantSid?: string;
  identity?: string;
  participantJoinedAt?: number;
}

/** One client-reported stats sample. */
export interface StatsSample {
  roomName: string;
  identity: string;
  at: number;
  bytesSent: number;
  bytesReceived: number;
  bitrateKbps?: number;
  packetLossPercent?: number;
  jitterMs?: number;
  rttMs?: number;
  quality?: 'excellent' | 'good' | 'poor' | 'lost';
}

export interface RoomSession {
  name: string;
  sid: string;
  startedAt: number;
  finishedAt?: number;
  peak: number;
  current: number;
}

export interface ParticipantEntry {
  type: 'join' | 'leave' | 'abort';
  at: number;
  roomName: string;
  identity: string;
  sessionSeconds?: number;
}

// Creates the room session if unseen. A late room_started keeps the earliest start time stored.
const TOUCH_ROOM = `
local started = redis.call('HGET', KEYS[1], 'startedAt')
if (not started) or tonumber(started) > tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'startedAt', ARGV[3])
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
end
redis.call('HSETNX', KEYS[1], 'name', ARGV[1])
redis.call('HSETNX', KEYS[1], 'sid', ARGV[2])
redis.call('HSETNX', KEYS[1], 'peak', '0')
return 1`;

// Adds a participant unless it already left (its participant_left arrived first) or the room has
// finished; raises the peak. Membership is a set, so counts can never go negative.
const JOIN = `
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
if redis.call('HEXISTS', KEYS[1], 'finishedAt') == 1 then return 0 end
redis.call('SADD', KEYS[2], ARGV[1])
local count = redis.call('SCARD', KEYS[2])
if count > tonumber(redis.call('HGET', KEYS[1], 'peak') or '0') then redis.call('HSET', KEYS[1], 'peak', count) end
return count`;

const FINISH = `
local finished = redis.call('HGET', KEYS[1], 'finishedAt')
if (not finished) or tonumber(finished) < tonumber(ARGV[1]) then redis.call('HSET', KEYS[1], 'finishedAt', ARGV[1]) end
redis.call('DEL', KEYS[2])
return 1`;

const GONE_TTL_SECONDS = 24 * 3600;
const TRIM_INTERVAL_MS = 10_000;
/** Maximum number of room sessions one trim removes, so a large backlog is cleared over several writes. */
const TRIM_BATCH = 500;

/** Redis storage for room sessions, participant activity and client stats. */
export class AnalyticsStore {
  private lastTrim = 0;

  constructor(private readonly deps: { redis: Redis; keyPrefix: string; retentionDays: number }) {}

  private key(...parts: string[]): string {
    return [this.deps.keyPrefix, 'lksdk', 'analytics', ...parts].join(':');
  }

  async apply(activity: RoomActivity): Promise<void> {
    const roomKey = this.key('room', activity.roomSid);
    const startedAt = activity.type === 'room_started' ? activity.at : (activity.roomCreatedAt ?? activity.at);
    await this.deps.redis.eval(TOUCH_ROOM, 2, roomKey, this.key('rooms'), activity.roomName, activity.roomSid, String(startedAt));
    const present = this.key('present', activity.roomSid);
    switch (activity.type) {
      case 'room_finished':
        await this.deps.redis.eval(FINISH, 2, roomKey, present, String(activity.at));
        break;
      case 'participant_joined':
        await this.join(activity, roomKey, present);
        break;
      case 'participant_left':
      case 'participant_connection_aborted':
        await this.leave(activity, present);
        break;
    }
    await this.trim();
  }

  private async join(activity: RoomActivity, roomKey: string, present: string): Promise<void> {
    const sid = activity.participantSid ?? activity.identity ?? '';
    await this.deps.redis.eval(JOIN, 3, roomKey, present, this.key('gone', activity.roomSid, sid), sid);
    await this.addParticipantEntry({ type: 'join', at: activity.at, roomName: activity.roomName, identity: activity.identity ?? '' });
  }

  private async leave(activity: RoomActivity, present: string): Promise<void> {
    const sid = activity.participantSid ?? activity.identity ?? '';
    await this.deps.redis
      .multi()
      .set(this.key('gone', activity.roomSid, sid), '1', 'EX', GONE_TTL_SECONDS)
      .srem(present, sid)
      .exec();
    const joinedAt = activity.participantJoinedAt;
    const sessionSeconds = joinedAt && joinedAt <= activity.at ? Math.round((activity.at - joinedAt) / 1000) : undefined;
    await this.addParticipantEntry({
      type: activity.type === 'participant_left' ? 'leave' : 'abort',
      at: activity.at,
      roomName: activity.roomName,
      identity: activity.identity ?? '',
      sessionSeconds,
    });
  }

  private async addParticipantEntry(entry: ParticipantEntry): Promise<void> {
    const member = JSON.stringify({ ...entry, n: randomBytes(4).toString('hex') });
    await this.deps.redis.zadd(this.key('participants'), entry.at, member);
  }

  async addStats(samples: StatsSample[]): Promise<void> {
    const multi = this.deps.redis.multi();
    for (const sample of samples) {
      multi.zadd(this.key('stats'), sample.at, JSON.stringify({ ...sample, n: randomBytes(4).toString('hex') }));
    }
    await multi.exec();
    await this.trim();
  }

  /** Room sessions that overlap [from, to]. */
  async rooms(from: number, to: number, limit: number): Promise<RoomSession[]> {
    const sids = await this.deps.redis.zrevrangebyscore(this.key('rooms'), to, '-inf', 'LIMIT', 0, limit);
    const pipeline = this.deps.redis.pipeline();
    for (const sid of sids) {
      pipeline.hgetall(this.key('room', sid));
      pipeline.scard(this.key('present', sid));
    }
    const replies = (await pipeline.exec()) ?? [];
    const sessions: RoomSession[] = [];
    for (let index = 0; index < sids.length; index += 1) {
      const hash = replies[index * 2]?.[1] as Record<string, string> | undefined;
      if (!hash?.startedAt) continue;
      const finishedAt = hash.finishedAt ? Number(hash.finishedAt) : undefined;
      if (finishedAt !== undefined && finishedAt < from) continue;
      sessions.push({
        name: hash.name,
        sid: hash.sid,
        startedAt: Number(hash.startedAt),
        finishedAt,
        peak: Number(hash.peak ?? 0),
        current: Number(replies[index * 2 + 1]?.[1] ?? 0),
      });
    }
    return sessions;
  }

  async participantEntries(from: number, to: number): Promise<ParticipantEntry[]> {
    const members = await this.deps.redis.zrangebyscore(this.key('participants'), from, to);
    return members.map((member) => JSON.parse(member) as ParticipantEntry);
  }

  async stats(from: number, to: number): Promise<StatsSample[]> {
    const members = await this.deps.redis.zrangebyscore(this.key('stats'), from, to);
    return members.map((member) => JSON.parse(member) as StatsSample);
  }

  // Drops entries older than the retention period, at most every few seconds, so the sorted sets
  // stay bounded without a trim on every write.
  private async trim(): Promise<void> {
    if (Date.now() - this.lastTrim < TRIM_INTERVAL_MS) return;
    this.lastTrim = Date.now();
    const cutoff = Date.now() - this.deps.retentionDays * 86400 * 1000;
    await this.deps.redis
      .multi()
      .zremrangebyscore(this.key('participants'), '-inf', cutoff)
      .zremrangebyscore(this.key('stats'), '-inf', cutoff)
      .exec();
    await this.trimRooms(cutoff);
  }

  /**
   * Removes room sessions that finished before `cutoff`, up to {@link TRIM_BATCH} per call. A room
   * that never reported `room_finished` is kept, since it may still be live.
   */
  private async trimRooms(cutoff: number): Promise<void> {
    const sids = await this.deps.redis.zrangebyscore(this.key('rooms'), '-inf', cutoff, 'LIMIT', 0, TRIM_BATCH);
    if (sids.length === 0) return;
    const pipeline = this.deps.redis.pipeline();
    for (const sid of sids) pipeline.hget(this.key('room', sid), 'finishedAt');
    const replies = (await pipeline.exec()) ?? [];
    const finished = sids.filter((_sid, index) => {
      const finishedAt = replies[index]?.[1] as string | null | undefined;
      return finishedAt !== null && finishedAt !== undefined && Number(finishedAt) < cutoff;
    });
    if (finished.length === 0) return;
    const multi = this.deps.redis.multi().zrem(this.key('rooms'), ...finished);
    for (const sid of finished) multi.del(this.key('room', sid), this.key('present', sid));
    await multi.exec();
  }
}
