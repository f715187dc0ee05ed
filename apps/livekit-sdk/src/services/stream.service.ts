import { randomBytes } from 'node:crypto';

import { AppError, notFound } from '@castplane/errors';
import type { Logger } from '@castplane/logging';
import type { Redis } from '@castplane/redis';

import type { LivekitClients } from '../clients/livekit.client';
import { call } from '../clients/livekit.client';
import type { RoomService } from './room.service';

export type StreamState = 'created' | 'live' | 'ended';

export interface RoomSettings {
  emptyTimeout?: number;
  departureTimeout?: number;
  maxParticipants?: number;
}

/** A broadcast stream: an application record bound to one LiveKit room. */
export interface BroadcastStream {
  streamId: string;
  title: string;
  roomName: string;
  hostIdentity: string;
  roomSettings: RoomSettings;
  metadata: Record<string, string>;
  state: StreamState;
  requestId?: string;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  endedAt?: string;
}

export interface CreateStreamInput {
  title: string;
  hostIdentity: string;
  roomName?: string;
  roomSettings?: RoomSettings;
  metadata?: Record<string, string>;
  requestId?: string;
}

export type UpdateStreamInput = Partial<Pick<BroadcastStream, 'title' | 'hostIdentity' | 'roomSettings' | 'metadata'>>;

// Writes the record and its indexes only when the room is still free and the request id unused,
// so two concurrent creates cannot bind one room twice or leave half a record.
const INSERT = `
local bound = redis.call('GET', KEYS[2])
if bound then return {'room_taken', bound} end
if ARGV[3] == '1' then
  local previous = redis.call('GET', KEYS[3])
  if previous then return {'duplicate', previous} end
  redis.call('SET', KEYS[3], ARGV[1])
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
return {'ok', ARGV[1]}`;

/** Broadcast streams and their rooms' lifecycle: create, start (live), stop, delete. */
export class StreamService {
  constructor(
    private readonly deps: {
      redis: Redis;
      keyPrefix: string;
      livekit: LivekitClients;
      rooms: RoomService;
      logger: Logger;
    },
  ) {}

  private key(...parts: string[]): string {
    return [this.deps.keyPrefix, 'lksdk', ...parts].join(':');
  }

  /** Creates the stream and its room, or returns the stream already created under `requestId`. */
  async create(input: CreateStreamInput): Promise<{ stream: BroadcastStream; created: boolean }> {
    const previous = input.requestId ? await this.findByRequest(input.requestId) : undefined;
    if (previous) return { stream: previous, created: false };

    const streamId = `bc_${randomBytes(8).toString('hex')}`;
    const roomName = input.roomName ?? `broadcast-${streamId.slice(3)}`;
    await this.rejectBoundRoom(roomName);
    await this.deps.rooms.create({ name: roomName, ...input.roomSettings }, true);

    const now = new Date().toISOString();
    const stream: BroadcastStream = {
      streamId,
      title: input.title,
      roomName,
      hostIdentity: input.hostIdentity,
      roomSettings: input.roomSettings ?? {},
      metadata: input.metadata ?? {},
      state: 'created',
      requestId: input.requestId,
      createdAt: now,
      updatedAt: now,
    };
    const [status, existingId] = (await this.deps.redis.eval(
      INSERT,
      4,
      this.key('stream', streamId),
      this.key('stream-room', roomName),
      this.key('stream-request', input.requestId ?? '-'),
      this.key('streams'),
      streamId,
      JSON.stringify(stream),
      input.requestId ? '1' : '0',
    )) as [string, string];
    if (status === 'duplicate') return { stream: await this.get(existingId), created: false };
    if (status === 'room_taken') throw roomTaken(roomName);
    this.deps.logger.info('broadcast stream created', { streamId, roomName });
    return { stream, created: true };
  }

  async get(streamId: string): Promise<BroadcastStream> {
    const raw = await this.deps.redis.get(this.key('stream', streamId));
    if (!raw) throw notFound('stream', streamId);
    return JSON.parse(raw) as BroadcastStream;
  }

  async update(streamId: string, input: UpdateStreamInput): Promise<BroadcastStream> {
    const stream = await this.get(streamId);
    const updated: BroadcastStream = {
      ...stream,
      ...input,
      roomSettings: { ...stream.roomSettings, ...input.roomSettings },
      updatedAt: new Date().toISOString(),
    };
    if (updated.state === 'live') await this.writeRoomMetadata(updated);
    return this.save(updated);
  }

  /** Marks the stream live in its room's metadata, recreating the room if it timed out. */
  async start(streamId: string): Promise<BroadcastStream> {
    const stream = await this.get(streamId);
    if (stream.state === 'live') return stream;
    await this.deps.rooms.create({ name: stream.roomName, ...stream.roomSettings }, true);
    const now = new Date().toISOString();
    const live: BroadcastStream = { ...stream, state: 'live', startedAt: now, endedAt: undefined, updatedAt: now };
    await this.writeRoomMetadata(live);
    this.deps.logger.info('broadcast stream started', { streamId, roomName: stream.roomName });
    return this.save(live);
  }

  /** Ends the stream: writes `ended` into the room metadata and removes every participant. */
  async stop(streamId: string): Promise<BroadcastStream> {
    const stream = await this.get(streamId);
    if (stream.state === 'ended') return stream;
    const now = new Date().toISOString();
    const ended: BroadcastStream = { ...stream, state: 'ended', endedAt: now, updatedAt: now };
    if (await this.deps.livekit.findRoom(stream.roomName)) {
      await this.writeRoomMetadata(ended);
      await this.removeParticipants(stream.roomName);
    }
    this.deps.logger.info('broadcast stream stopped', { streamId, roomName: stream.roomName });
    return this.save(ended);
  }

  /** Deletes the room on the LiveKit server (if it still exists) and the stream record. */
  async delete(streamId: string): Promise<void> {
    const stream = await this.get(streamId);
    if (await this.deps.livekit.findRoom(stream.roomName)) {
      const notFound = { kind: 'room', id: stream.roomName };
      await call(() => this.deps.livekit.rooms.deleteRoom(stream.roomName), notFound).catch((error: unknown) => {
        // The room may close on its own between the lookup and the delete.
        if (!(error instanceof AppError && error.code === 'not_found')) throw error;
      });
    }
    const multi = this.deps.redis
      .multi()
      .del(this.key('stream', streamId))
      .del(this.key('stream-room', stream.roomName))
      .srem(this.key('streams'), streamId);
    if (stream.requestId) multi.del(this.key('stream-request', stream.requestId));
    await multi.exec();
    this.deps.logger.info('broadcast stream deleted', { streamId, roomName: stream.roomName });
  }

  private async save(stream: BroadcastStream): Promise<BroadcastStream> {
    await this.deps.redis.set(this.key('stream', stream.streamId), JSON.stringify(stream));
    return stream;
  }

  private async findByRequest(requestId: string): Promise<BroadcastStream | undefined> {
    const streamId = await this.deps.redis.get(this.key('stream-request', requestId));
    return streamId ? this.get(streamId).catch(() => undefined) : undefined;
  }

  private async rejectBoundRoom(roomName: string): Promise<void> {
    if (await this.deps.redis.exists(this.key('stream-room', roomName))) throw roomTaken(roomName);
  }

  private async writeRoomMetadata(stream: BroadcastStream): Promise<void> {
    const metadata = JSON.stringify({
      streamId: stream.streamId,
      title: stream.title,
      state: stream.state,
      hostIdentity: stream.hostIdentity,
      startedAt: stream.startedAt ?? null,
      endedAt: stream.endedAt ?? null,
    });
    await call(() => this.deps.livekit.rooms.updateRoomMetadata(stream.roomName, metadata), {
      kind: 'room',
      id: stream.roomName,
    });
  }

  private async removeParticipants(roomName: string): Promise<void> {
    const participants = await call(() => this.deps.livekit.rooms.listParticipants(roomName));
    for (const participant of participants) {
      await call(() => this.deps.livekit.rooms.removeParticipant(roomName, participant.identity), {
        kind: 'participant',
        id: participant.identity,
      }).catch((error: unknown) => {
        // A participant that left between the list and the removal is already gone.
        if (!(error instanceof AppError && error.code === 'not_found')) throw error;
      });
    }
  }
}

function roomTaken(roomName: string): AppError {
  const message = `room ${JSON.stringify(roomName)} is already bound to a broadcast stream`;
  return new AppError('already_exists', message, {
    details: [{ field: 'body.roomName', message: 'already bound to a stream' }],
  });
}
