import type { Redis } from '@castplane/redis';

import type { LinkedStream, ParticipantRecord, RoomRecord } from './models';

// Joins atomically: creates the room when allowed, applies the duplicate policy and the limit.
// Returns {status, previous participant JSON or ''}.
const JOIN_SCRIPT = `
local roomKey, roomsKey, partsKey = KEYS[1], KEYS[2], KEYS[3]
local identity, participant, policy, autoCreate, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if redis.call('EXISTS', roomKey) == 0 then
  if autoCreate ~= '1' then return {'room_not_found', ''} end
  for i = 7, #ARGV, 2 do redis.call('HSET', roomKey, ARGV[i], ARGV[i + 1]) end
  redis.call('SADD', roomsKey, ARGV[6])
end
local previous = redis.call('HGET', partsKey, identity)
if previous then
  if policy == 'reject' then return {'duplicate', ''} end
else
  local max = tonumber(redis.call('HGET', roomKey, 'maxParticipants') or '0')
  if max > 0 and redis.call('HLEN', partsKey) >= max then return {'full', ''} end
end
redis.call('HSET', partsKey, identity, participant)
if tonumber(redis.call('HGET', roomKey, 'firstJoinedAtMs') or '0') == 0 then
  redis.call('HSET', roomKey, 'firstJoinedAtMs', now)
end
return {'joined', previous or ''}
`;

// Removes a participant only if the stored record still belongs to the given session.
const LEAVE_SCRIPT = `
local current = redis.call('HGET', KEYS[2], ARGV[1])
if not current then return '' end
if ARGV[2] ~= '' and cjson.decode(current).sessionId ~= ARGV[2] then return '' end
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('HLEN', KEYS[2]) == 0 and redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'lastLeftAtMs', ARGV[3])
end
return current
`;

// Replaces a JSON value only if it is unchanged since it was read (compare and set).
const CAS_SCRIPT = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
`;

// Deletes a room only while it is empty and unchanged since the sweeper decided it was idle.
const DELETE_IDLE_SCRIPT = `
if redis.call('HLEN', KEYS[3]) > 0 then return 0 end
if (redis.call('HGET', KEYS[1], 'lastLeftAtMs') or '') ~= ARGV[2] then return 0 end
if (redis.call('HGET', KEYS[1], 'firstJoinedAtMs') or '') ~= ARGV[3] then return 0 end
redis.call('DEL', KEYS[1], KEYS[3])
redis.call('SREM', KEYS[2], ARGV[1])
return 1
`;

export type JoinStatus = 'joined' | 'room_not_found' | 'duplicate' | 'full';

const NUMBER_FIELDS = [
  'emptyTimeout',
  'departureTimeout',
  'maxParticipants',
  'creationTimeMs',
  'firstJoinedAtMs',
  'lastLeftAtMs',
] as const;

function roomFields(room: RoomRecord): string[] {
  const fields: string[] = [];
  for (const [key, value] of Object.entries(room)) {
    if (value === undefined) continue;
    fields.push(key, key === 'linkedStream' ? JSON.stringify(value) : String(value));
  }
  return fields;
}

function parseRoom(hash: Record<string, string>): RoomRecord | undefined {
  if (!hash.sid) return undefined;
  const room = { ...hash } as unknown as RoomRecord;
  for (const key of NUMBER_FIELDS) room[key] = Number(hash[key] ?? 0);
  room.metadata = hash.metadata ?? '';
  room.activeRecording = hash.activeRecording ?? '';
  room.linkedStream = hash.linkedStream ? (JSON.parse(hash.linkedStream) as LinkedStream) : undefined;
  return room;
}

/** Returns the Redis key of a room's hash. */
export function roomKeyOf(prefix: string, name: string): string {
  return `${prefix}:room:${name}`;
}

/** Rooms, participants and tracks in Redis, shared by every replica. */
export class RoomStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private roomKey(name: string) {
    return roomKeyOf(this.prefix, name);
  }

  private participantsKey(name: string) {
    return `${this.prefix}:room:${name}:participants`;
  }

  private get roomsKey() {
    return `${this.prefix}:rooms`;
  }

  /** Creates the room unless one with that name exists; returns the stored room either way. */
  async createRoom(room: RoomRecord): Promise<{ room: RoomRecord; created: boolean }> {
    const created = await this.redis.hsetnx(this.roomKey(room.name), 'sid', room.sid);
    if (created === 1) {
      await this.redis.multi().hset(this.roomKey(room.name), ...roomFields(room)).sadd(this.roomsKey, room.name).exec();
      return { room, created: true };
    }
    const existing = await this.waitForRoom(room.name);
    return { room: existing ?? room, created: false };
  }

  // Another replica may be between HSETNX and HSET of the same room; wait briefly for it.
  private async waitForRoom(name: string): Promise<RoomRecord | undefined> {
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const room = await this.getRoom(name);
      if (room?.name) return room;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return this.getRoom(name);
  }

  async getRoom(name: string): Promise<RoomRecord | undefined> {
    return parseRoom(await this.redis.hgetall(this.roomKey(name)));
  }

  async updateRoom(name: string, fields: Partial<RoomRecord>): Promise<RoomRecord | undefined> {
    const values = roomFields(fields as RoomRecord);
    // HSET only on an existing room, so an update never resurrects a deleted one.
    const updated = await this.redis.eval(
      `if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
       redis.call('HSET', KEYS[1], unpack(ARGV)) return 1`,
      1,
      this.roomKey(name),
      ...values,
    );
    return updated === 1 ? this.getRoom(name) : undefined;
  }

  async clearLinkedStream(name: string): Promise<void> {
    await this.redis.hdel(this.roomKey(name), 'linkedStream');
  }

  async listRoomNames(): Promise<string[]> {
    return (await this.redis.smembers(this.roomsKey)).sort();
  }

  async listRooms(names?: string[]): Promise<RoomRecord[]> {
    const selected = names && names.length > 0 ? names : await this.listRoomNames();
    const rooms = await Promise.all(selected.map((name) => this.getRoom(name)));
    return rooms.filter((room): room is RoomRecord => room !== undefined);
  }

  /** Deletes a room and its participants in one transaction; returns who was in it. */
  async deleteRoom(name: string): Promise<{ room?: RoomRecord; participants: ParticipantRecord[] }> {
    const results = await this.redis
      .multi()
      .hgetall(this.roomKey(name))
      .hvals(this.participantsKey(name))
      .del(this.roomKey(name), this.participantsKey(name))
      .srem(this.roomsKey, name)
      .exec();
    const room = parseRoom((results?.[0]?.[1] ?? {}) as Record<string, string>);
    const participants = ((results?.[1]?.[1] ?? []) as string[]).map((json) => JSON.parse(json) as ParticipantRecord);
    return { room, participants };
  }

  async deleteIdleRoom(room: RoomRecord): Promise<boolean> {
    const deleted = await this.redis.eval(
      DELETE_IDLE_SCRIPT,
      3,
      this.roomKey(room.name),
      this.roomsKey,
      this.participantsKey(room.name),
      room.name,
      String(room.lastLeftAtMs),
      String(room.firstJoinedAtMs),
    );
    return deleted === 1;
  }

  async join(
    template: RoomRecord,
    participant: ParticipantRecord,
    options: { policy: 'replace' | 'reject'; autoCreate: boolean },
  ): Promise<{ status: JoinStatus; previous?: ParticipantRecord }> {
    const [status, previous] = (await this.redis.eval(
      JOIN_SCRIPT,
      3,
      this.roomKey(template.name),
      this.roomsKey,
      this.participantsKey(template.name),
      participant.identity,
      JSON.stringify(participant),
      options.policy,
      options.autoCreate ? '1' : '0',
      String(participant.joinedAtMs),
      template.name,
      ...roomFields(template),
    )) as [JoinStatus, string];
    return { status, previous: previous ? (JSON.parse(previous) as ParticipantRecord) : undefined };
  }

  /** Removes the participant if `sessionId` (when given) still owns the record. */
  async leave(room: string, identity: string, sessionId = ''): Promise<ParticipantRecord | undefined> {
    const removed = (await this.redis.eval(
      LEAVE_SCRIPT,
      2,
      this.roomKey(room),
      this.participantsKey(room),
      identity,
      sessionId,
      String(Date.now()),
    )) as string;
    return removed ? (JSON.parse(removed) as ParticipantRecord) : undefined;
  }

  async getParticipant(room: string, identity: string): Promise<ParticipantRecord | undefined> {
    const json = await this.redis.hget(this.participantsKey(room), identity);
    return json ? (JSON.parse(json) as ParticipantRecord) : undefined;
  }

  async listParticipants(room: string): Promise<ParticipantRecord[]> {
    const values = await this.redis.hvals(this.participantsKey(room));
    return values.map((json) => JSON.parse(json) as ParticipantRecord).sort((a, b) => a.joinedAtMs - b.joinedAtMs);
  }

  /** Lists the participants of every room with one SMEMBERS and one pipeline of HVALS. */
  async listAllParticipants(): Promise<{ room: string; participant: ParticipantRecord }[]> {
    const names = await this.listRoomNames();
    if (names.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const name of names) pipeline.hvals(this.participantsKey(name));
    const results = (await pipeline.exec()) ?? [];
    return names.flatMap((room, index) => {
      const [error, values] = results[index] ?? [];
      if (error) throw error;
      return ((values ?? []) as string[]).map((json) => ({ room, participant: JSON.parse(json) as ParticipantRecord }));
    });
  }

  async countParticipants(room: string): Promise<number> {
    return this.redis.hlen(this.participantsKey(room));
  }

  /**
   * Applies `change` to a participant with compare-and-set, retrying when another writer got
   * there first. Returns undefined when the participant is gone.
   */
  async updateParticipant(
    room: string,
    identity: string,
    change: (participant: ParticipantRecord) => ParticipantRecord,
  ): Promise<ParticipantRecord | undefined> {
    const key = this.participantsKey(room);
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const before = await this.redis.hget(key, identity);
      if (!before) return undefined;
      const next = change(JSON.parse(before) as ParticipantRecord);
      next.version += 1;
      const swapped = await this.redis.eval(CAS_SCRIPT, 1, key, identity, before, JSON.stringify(next));
      if (swapped === 1) return next;
    }
    throw new Error(`participant ${identity} kept changing during an update`);
  }

  /** Adds relayed-message counts per room (flushed in batches, not per message). */
  async addRelayCounts(counts: Map<string, number>): Promise<void> {
    if (counts.size === 0) return;
    const pipeline = this.redis.pipeline();
    let total = 0;
    for (const [room, count] of counts) {
      pipeline.hincrby(`${this.prefix}:stats:rooms`, room, count);
      total += count;
    }
    pipeline.hincrby(`${this.prefix}:stats`, 'messagesRelayed', total);
    await pipeline.exec();
  }

  async relayCounts(): Promise<{ total: number; rooms: Record<string, number> }> {
    const [total, rooms] = await Promise.all([
      this.redis.hget(`${this.prefix}:stats`, 'messagesRelayed'),
      this.redis.hgetall(`${this.prefix}:stats:rooms`),
    ]);
    return {
      total: Number(total ?? 0),
      rooms: Object.fromEntries(Object.entries(rooms).map(([room, count]) => [room, Number(count)])),
    };
  }
}
