import type { SignalServer } from '../signal/signal.server';
import type { RelayService } from './relay.service';
import type { RoomStore } from './room.store';

/** Statistics from Redis (all replicas) and from this replica's sockets. */
export class StatsService {
  private readonly startedAtMs = Date.now();

  constructor(
    private readonly store: RoomStore,
    private readonly relay: RelayService,
    private readonly signal: SignalServer,
    private readonly nodeId: string,
  ) {}

  async server() {
    await this.relay.flush();
    const rooms = await this.store.listRooms();
    const counts = await Promise.all(rooms.map((room) => this.store.countParticipants(room.name)));
    const relayed = await this.store.relayCounts();
    return {
      nodeId: this.nodeId,
      uptimeSeconds: Math.round((Date.now() - this.startedAtMs) / 1000),
      rooms: rooms.length,
      participants: counts.reduce((sum, count) => sum + count, 0),
      localConnections: this.signal.connectionCount,
      messagesRelayed: relayed.total,
      localMessagesRelayed: this.relay.localTotal,
      memoryRssBytes: process.memoryUsage().rss,
    };
  }

  async rooms() {
    await this.relay.flush();
    const relayed = await this.store.relayCounts();
    const rooms = await this.store.listRooms();
    return Promise.all(
      rooms.map(async (room) => {
        const participants = await this.store.listParticipants(room.name);
        return {
          name: room.name,
          sid: room.sid,
          participants: participants.length,
          publishers: participants.filter((participant) => participant.tracks.length > 0).length,
          tracks: participants.reduce((sum, participant) => sum + participant.tracks.length, 0),
          messagesRelayed: relayed.rooms[room.name] ?? 0,
          createdAt: new Date(room.creationTimeMs).toISOString(),
          recording: room.activeRecording !== '',
        };
      }),
    );
  }

  // NOTE: messagesRelayed per participant counts only what this replica relayed.
  async participants() {
    const now = Date.now();
    const result = [];
    for (const room of await this.store.listRooms()) {
      for (const participant of await this.store.listParticipants(room.name)) {
        result.push({
          room: room.name,
          identity: participant.identity,
          sid: participant.sid,
          nodeId: participant.nodeId,
          joinedAt: new Date(participant.joinedAtMs).toISOString(),
          connectedSeconds: Math.round((now - participant.joinedAtMs) / 1000),
          tracks: participant.tracks.length,
          messagesRelayed: this.relay.relayedBy(room.name, participant.identity),
          bitrateKbps: participant.stats.bitrateKbps ?? null,
          packetLoss: participant.stats.packetLoss ?? null,
          rttMs: participant.stats.rttMs ?? null,
          jitterMs: participant.stats.jitterMs ?? null,
          statsReportedAt: participant.stats.reportedAtMs ? new Date(participant.stats.reportedAtMs).toISOString() : null,
        });
      }
    }
    return result;
  }
}
