import type { ServiceName } from './services';

/**
 * Commands the orchestrator sends to a service's command queue. Each entry is the payload the
 * service's worker accepts and the result it returns. The worker runs the same service code as
 * the matching REST route. Commands must be idempotent, so a retried job repeats no side effect.
 */
/**
 * Central settings pushed by the orchestrator's config sync. Each service applies the keys it
 * supports, rejects invalid values with `invalid_argument`, and returns what changed.
 */
export interface ConfigApply {
  payload: { settings: Record<string, unknown> };
  result: { changed: Record<string, { from: unknown; to: unknown }>; ignored: string[] };
}

export interface CommandMap {
  'srs-adapter': {
    'config.apply': ConfigApply;
    /** Creates a stream, or returns the existing one when `name`/`app` already exist with the same `requestId`. */
    'stream.create': {
      payload: {
        requestId: string;
        name: string;
        app?: string;
        dvr?: boolean;
        playback?: 'public' | 'signed';
        reconnectWindowSeconds?: number;
        metadata?: Record<string, string>;
      };
      result: StreamCreated;
    };
    'stream.unpublish': { payload: { streamId: string }; result: { streamId: string; kicked: boolean } };
    'stream.delete': { payload: { streamId: string }; result: { streamId: string; deleted: boolean } };
    'stream.get': { payload: { streamId: string }; result: { streamId: string; state: string } };
  };
  'livekit-server': {
    'config.apply': ConfigApply;
    'room.create': {
      payload: {
        name: string;
        emptyTimeout?: number;
        maxParticipants?: number;
        metadata?: string;
        /** srs-adapter stream linked to the room; room recordings record it. */
        linkedStream?: { app: string; name: string };
      };
      result: { sid: string; name: string; created: boolean };
    };
    'room.end': { payload: { name: string }; result: { name: string; ended: boolean } };
    'room.delete': { payload: { name: string }; result: { name: string; deleted: boolean } };
  };
  encoder: {
    'config.apply': ConfigApply;
    /** Saves a per-key config and arms it: the pipeline starts when the stream goes live. */
    'transcode.arm': {
      payload: {
        streamKey: string;
        app: string;
        name: string;
        profiles: string[];
        record: boolean;
      };
      result: { state: 'armed' | 'running'; masterPlaylistPath: string; jobId?: string };
    };
    'transcode.stop': { payload: { streamKey: string }; result: { stopped: boolean } };
    'transcode.disarm': { payload: { streamKey: string }; result: { removed: boolean } };
    /** Records a live stream to MP4 (room recordings use it); `outputPath` is relative to the media root. */
    'record.start': {
      payload: { app: string; name: string; label: string };
      result: { jobId: string; outputPath: string };
    };
    'record.stop': { payload: { jobId: string }; result: { jobId: string; state: string } };
  };
  'livekit-sdk': {
    'config.apply': ConfigApply;
    'broadcast.create': {
      payload: { requestId: string; title: string; roomName: string; hostIdentity: string };
      result: { streamId: string; roomName: string };
    };
    'broadcast.start': { payload: { streamId: string }; result: { streamId: string; state: string } };
    'broadcast.stop': { payload: { streamId: string }; result: { streamId: string; state: string } };
    'broadcast.delete': { payload: { streamId: string }; result: { streamId: string; deleted: boolean } };
    'token.issue': {
      payload: { roomName: string; identity: string; role: 'host' | 'viewer'; ttlSeconds?: number };
      result: { token: string; tokenId: string; signalUrl: string; expiresAt: string };
    };
  };
  orchestrator: Record<never, never>;
}

export interface StreamCreated {
  streamId: string;
  name: string;
  app: string;
  /** Secret: never log it. */
  streamKey: string;
  rtmpUrl: string;
  hlsUrl: string;
  flvUrl: string;
}

export type CommandName<S extends ServiceName> = keyof CommandMap[S] & string;
export type CommandPayload<S extends ServiceName, C extends CommandName<S>> =
  CommandMap[S][C] extends { payload: infer P } ? P : never;
export type CommandResult<S extends ServiceName, C extends CommandName<S>> =
  CommandMap[S][C] extends { result: infer R } ? R : never;

/** Returns the name of the BullMQ queue that carries commands for a service. */
export function commandQueueName(service: ServiceName): string {
  return `commands-${service}`;
}
