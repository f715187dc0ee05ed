import { AppError, notFound } from '@castplane/errors';
import type { Logger } from '@castplane/logging';

import type { SignalBus } from '../signal/signal.bus';
import type { LinkedStream, ParticipantRecord, RoomRecord } from './models';
import { newId } from './models';
import type { RoomEvents } from './room-events';
import type { RoomStore } from './room.store';

export interface RoomDefaults {
  emptyTimeout: number;
  departureTimeout: number;
  maxParticipants: number;
}

export interface CreateRoomInput {
  name: string;
  emptyTimeout?: number;
  departureTimeout?: number;
  maxParticipants?: number;
  metadata?: string;
  linkedStream?: LinkedStream;
}

/** WebSocket close codes this service uses (4000-4999 is the application range). */
export const CLOSE_CODES = { roomEnded: 4000, removed: 4001, replaced: 4002, heartbeat: 4003 } as const;

/** Rooms: creation (idempotent), listing, metadata, ending and the idle sweeper. */
export class RoomService {
  private sweeper?: NodeJS.Timeout;
  private sweeping = false;
  /** Runs before a room ends, for example to stop its recording; failures are logged. */
  beforeEnd?: (room: RoomRecord) => Promise<void>;
  /** Runs at each sweep tick before idle rooms are closed, for example to remove lost participants. Failures are logged. */
  beforeSweep?: () => Promise<unknown>;

  constructor(
    private readonly store: RoomStore,
    private readonly bus: SignalBus,
    private readonly events: RoomEvents,
    private readonly logger: Logger,
    private defaults: RoomDefaults,
  ) {}

  setDefaults(defaults: RoomDefaults): void {
    this.defaults = defaults;
  }

  getDefaults(): RoomDefaults {
    return { ...this.defaults };
  }

  /** Builds a new room record with the configured defaults for every value the input leaves out. */
  template(input: CreateRoomInput): RoomRecord {
    return {
      sid: newId('RM_'),
      name: input.name,
      emptyTimeout: input.emptyTimeout || this.defaults.emptyTimeout,
      departureTimeout: input.departureTimeout || this.defaults.departureTimeout,
      maxParticipants: input.maxParticipants ?? this.defaults.maxParticipants,
      metadata: input.metadata ?? '',
      creationTimeMs: Date.now(),
      firstJoinedAtMs: 0,
      lastLeftAtMs: 0,
      linkedStream: input.linkedStream,
      activeRecording: '',
    };
  }

  /**
   * Creates a room, or returns the existing one with `created: false`. With `upsert` (LiveKit's
   * CreateRoom) non-zero values of the input are applied to an existing room.
   */
  async create(input: CreateRoomInput, options: { upsert?: boolean } = {}) {
    const { room, created } = await this.store.createRoom(this.template(input));
    if (created) {
      this.logger.info('room created', { roomName: room.name, roomSid: room.sid });
      await this.events.roomStarted(room);
      return { room, created };
    }
    if (!options.upsert) return { room, created };
    const changes: Partial<RoomRecord> = {};
    if (input.emptyTimeout) changes.emptyTimeout = input.emptyTimeout;
    if (input.departureTimeout) changes.departureTimeout = input.departureTimeout;
    if (input.maxParticipants) changes.maxParticipants = input.maxParticipants;
    if (input.metadata) changes.metadata = input.metadata;
    if (input.linkedStream) changes.linkedStream = input.linkedStream;
    const updated = Object.keys(changes).length > 0 ? await this.store.updateRoom(room.name, changes) : room;
    return { room: updated ?? room, created };
  }

  async get(name: string): Promise<RoomRecord> {
    const room = await this.store.getRoom(name);
    if (!room) throw notFound('room', name);
    return room;
  }

  async list(names?: string[]): Promise<{ room: RoomRecord; participants: ParticipantRecord[] }[]> {
    const rooms = await this.store.listRooms(names);
    return Promise.all(rooms.map(async (room) => ({ room, participants: await this.store.listParticipants(room.name) })));
  }

  async participantsOf(name: string): Promise<ParticipantRecord[]> {
    return this.store.listParticipants(name);
  }

  async updateMetadata(name: string, metadata: string): Promise<RoomRecord> {
    const room = await this.store.updateRoom(name, { metadata });
    if (!room) throw notFound('room', name);
    await this.bus.broadcast(name, { type: 'room-updated', room: { name, metadata } });
    return room;
  }

  async linkStream(name: string, linkedStream: LinkedStream | null): Promise<RoomRecord> {
    await this.get(name);
    if (linkedStream) return (await this.store.updateRoom(name, { linkedStream })) ?? this.get(name);
    await this.store.clearLinkedStream(name);
    return this.get(name);
  }

  /**
   * Ends a room: sends `room-ended` to every participant, closes their sockets, removes the room and reports
   * participant_left for each and then room_finished. Returns false when there was no room.
   */
  async end(name: string, reason: string): Promise<boolean> {
    const current = await this.store.getRoom(name);
    if (current?.activeRecording && this.beforeEnd) {
      await this.beforeEnd(current).catch((error: unknown) =>
        this.logger.warn('room recording not stopped', { roomName: name, err: error instanceof Error ? error.message : String(error) }),
      );
    }
    const { room, participants } = await this.store.deleteRoom(name);
    if (!room) return false;
    await this.bus.broadcast(name, { type: 'room-ended', reason });
    await Promise.all(
      participants.map((participant) =>
        this.bus.closePeer(participant.nodeId, name, participant.identity, participant.sessionId, CLOSE_CODES.roomEnded, 'room ended'),
      ),
    );
    for (const participant of participants) await this.events.participantLeft(room, [], participant);
    await this.events.roomFinished(room);
    this.logger.info('room ended', { roomName: name, roomSid: room.sid, reason, participants: participants.length });
    return true;
  }

  async endOrThrow(name: string, reason: string): Promise<void> {
    if (!(await this.end(name, reason))) throw notFound('room', name);
  }

  /**
   * Closes rooms that no participant joined within `emptyTimeout`, and rooms whose last
   * participant left more than `departureTimeout` ago. Several replicas may sweep, so the delete
   * is a conditional Lua script.
   */
  async sweep(now = Date.now()): Promise<number> {
    let closed = 0;
    for (const room of await this.store.listRooms()) {
      if (!isIdle(room, now) || room.activeRecording) continue;
      if (!(await this.store.deleteIdleRoom(room))) continue;
      closed += 1;
      this.logger.info('idle room closed', { roomName: room.name, roomSid: room.sid });
      await this.events.roomFinished(room);
    }
    return closed;
  }

  startSweeper(intervalMs: number): void {
    this.sweeper = setInterval(() => void this.tick(), intervalMs);
    this.sweeper.unref();
  }

  // A tick that is still running when the next one is due makes that one skip, so a slow Redis
  // does not pile up sweeps.
  private async tick(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      await this.beforeSweep?.().catch((error: unknown) =>
        this.logger.warn('lost participant sweep failed', { err: error instanceof Error ? error.message : String(error) }),
      );
      await this.sweep().catch((error: unknown) =>
        this.logger.warn('room sweep failed', { err: error instanceof Error ? error.message : String(error) }),
      );
    } finally {
      this.sweeping = false;
    }
  }

  stopSweeper(): void {
    clearInterval(this.sweeper);
  }

  /** Throws 409 when the room has no linked live stream to record. */
  static requireLinkedStream(room: RoomRecord): LinkedStream {
    if (room.linkedStream) return room.linkedStream;
    throw new AppError('failed_precondition', `room "${room.name}" has no media source: link a live stream to it before recording`, {
      reason: 'no_media_source',
    });
  }
}

function isIdle(room: RoomRecord, now: number): boolean {
  if (room.firstJoinedAtMs === 0) return now - room.creationTimeMs > room.emptyTimeout * 1000;
  return room.lastLeftAtMs >= room.firstJoinedAtMs && now - room.lastLeftAtMs > room.departureTimeout * 1000;
}
