import type { ServiceName } from './services';

/** Events and their data. Names are past tense; data never contains stream keys or tokens. */
export interface EventMap {
  /** A publisher started and was allowed on a stream. */
  'stream.published': { streamId: string; app: string; name: string; clientId: string; sessionId: string };
  /** A publisher came back inside the reconnect window: same session, not a new one. */
  'stream.reconnected': { streamId: string; app: string; name: string; clientId: string; sessionId: string };
  /** The publish ended for good (after the reconnect window or an explicit unpublish). */
  'stream.ended': { streamId: string; app: string; name: string; sessionId: string; reason: string };
  'stream.dvr_ready': { streamId: string; app: string; name: string; file: string; durationSeconds?: number };
  'stream.deleted': { streamId: string; app: string; name: string };
  'transcode.started': { jobId: string; app: string; name: string; masterPlaylistPath: string };
  'transcode.completed': { jobId: string; app: string; name: string; outputs: string[] };
  'transcode.failed': { jobId: string; app: string; name: string; error: string };
  'room.started': { roomName: string; roomSid: string };
  'room.finished': { roomName: string; roomSid: string };
  'participant.joined': { roomName: string; identity: string; participantSid: string };
  'participant.left': { roomName: string; identity: string; participantSid: string };
  'track.published': { roomName: string; identity: string; trackSid: string; kind: string };
  'track.unpublished': { roomName: string; identity: string; trackSid: string; kind: string };
  'egress.started': { roomName: string; egressId: string };
  'egress.ended': { roomName: string; egressId: string };
}

export type EventName = keyof EventMap;

/** The envelope of an event on a queue. `id` is unique per occurrence, and consumers dedupe on it. */
export interface EventEnvelope<E extends EventName = EventName> {
  id: string;
  type: E;
  time: string;
  source: ServiceName;
  data: EventMap[E];
}

/** The services that consume each event. The publisher adds one job per subscriber queue. */
export const EVENT_SUBSCRIBERS: Record<EventName, ServiceName[]> = {
  'stream.published': ['encoder', 'orchestrator'],
  'stream.reconnected': ['encoder', 'orchestrator'],
  'stream.ended': ['encoder', 'orchestrator'],
  'stream.dvr_ready': ['orchestrator'],
  'stream.deleted': ['encoder', 'orchestrator'],
  'transcode.started': ['orchestrator', 'livekit-server'],
  'transcode.completed': ['orchestrator', 'livekit-server'],
  'transcode.failed': ['orchestrator', 'livekit-server'],
  'room.started': ['orchestrator'],
  'room.finished': ['orchestrator'],
  'participant.joined': ['orchestrator'],
  'participant.left': ['orchestrator'],
  'track.published': ['orchestrator'],
  'track.unpublished': ['orchestrator'],
  'egress.started': ['orchestrator'],
  'egress.ended': ['orchestrator'],
};

/** Returns the name of the BullMQ queue a service consumes its events from. */
export function eventQueueName(service: ServiceName): string {
  return `events-${service}`;
}
