import type { Logger } from '@castplane/logging';

import type { NodeRegistry } from './node-registry';
import type { ParticipantService } from './participant.service';
import type { RoomStore } from './room.store';

/** Reason sent in `participant-left` when the replica holding the socket stopped refreshing its key. */
export const NODE_LOST_REASON = 'node_lost';

/**
 * Removes the participants of replicas that died without shutting down. Each removal is the
 * conditional leave a closed socket uses. So when several replicas sweep at once, only one of them
 * removes a participant and sends its events. An identity that has reconnected to a live replica
 * since then keeps its new record.
 */
export class LostParticipantsService {
  constructor(
    private readonly store: RoomStore,
    private readonly participants: ParticipantService,
    private readonly registry: NodeRegistry,
    private readonly logger: Logger,
  ) {}

  /** Removes the participants of every dead node, then unregisters those nodes. Returns how many this replica removed. */
  async sweep(): Promise<number> {
    const dead = new Set(await this.registry.deadNodes());
    if (dead.size === 0) return 0;

    let removed = 0;
    for (const { room, participant } of await this.store.listAllParticipants()) {
      if (!dead.has(participant.nodeId)) continue;
      const left = await this.participants.leave(room, participant.identity, participant.sessionId, NODE_LOST_REASON);
      if (!left) continue;
      removed += 1;
      this.logger.warn('participant of a lost node removed', {
        roomName: room,
        participantIdentity: participant.identity,
        nodeId: participant.nodeId,
      });
    }

    // Reached only when every leave above succeeded. A failed leave throws, so the node stays
    // registered and the next tick tries again.
    for (const nodeId of dead) await this.registry.unregister(nodeId);
    return removed;
  }
}
