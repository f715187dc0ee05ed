import { AppError } from '@castplane/errors';
import type { Logger } from '@castplane/logging';

import type { SignalBus } from '../signal/signal.bus';
import type { RoomStore } from './room.store';

export type RelayType = 'offer' | 'answer' | 'ice-candidate';

/**
 * Relays offers, answers and ICE candidates to one named participant on any replica, and counts
 * relayed messages per room and participant (flushed to Redis in batches).
 */
export class RelayService {
  private readonly pendingRoomCounts = new Map<string, number>();
  private readonly participantCounts = new Map<string, number>();
  private flusher?: NodeJS.Timeout;
  localTotal = 0;

  constructor(
    private readonly store: RoomStore,
    private readonly bus: SignalBus,
    private readonly logger: Logger,
  ) {}

  async relay(room: string, from: string, to: string, type: RelayType, body: Record<string, unknown>): Promise<void> {
    const message = { ...body, type, from };
    const local = this.bus.local(room, to);
    if (local) {
      local.send(message);
    } else {
      const target = await this.store.getParticipant(room, to);
      if (!target) {
        throw new AppError('not_found', `participant "${to}" is not connected to room "${room}"`, {
          reason: 'unknown_target',
          details: [{ field: 'to', message: 'not connected' }],
        });
      }
      await this.bus.sendTo(target.nodeId, room, to, message);
    }
    this.count(room, from);
  }

  private count(room: string, from: string): void {
    this.localTotal += 1;
    this.pendingRoomCounts.set(room, (this.pendingRoomCounts.get(room) ?? 0) + 1);
    const key = `${room}\u0000${from}`;
    this.participantCounts.set(key, (this.participantCounts.get(key) ?? 0) + 1);
  }

  /** Messages this replica relayed for a participant since it started. */
  relayedBy(room: string, identity: string): number {
    return this.participantCounts.get(`${room}\u0000${identity}`) ?? 0;
  }

  forget(room: string, identity: string): void {
    this.participantCounts.delete(`${room}\u0000${identity}`);
  }

  async flush(): Promise<void> {
    if (this.pendingRoomCounts.size === 0) return;
    const counts = new Map(this.pendingRoomCounts);
    this.pendingRoomCounts.clear();
    await this.store.addRelayCounts(counts);
  }

  startFlusher(intervalMs = 1000): void {
    this.flusher = setInterval(() => {
      this.flush().catch((error: unknown) =>
        this.logger.warn('relay counters not saved', { err: error instanceof Error ? error.message : String(error) }),
      );
    }, intervalMs);
    this.flusher.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.flusher);
    await this.flush().catch(() => undefined);
  }
}
