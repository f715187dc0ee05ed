import type { StreamRecord } from '../services/stream.store';

/** Live figures of one stream as the media server reports them. */
export interface MediaStreamStat {
  publisher?: { clientId: string; ip: string; since: string };
  video?: { codec: string; width: number; height: number; fps?: number };
  audio?: { codec: string; sampleRate: number; channels: number };
  kbps: { in: number; out: number };
  bytes: { in: number; out: number };
  viewers?: Record<string, number>;
}

/** One stream the media server currently has, for reconciling missed callbacks. */
export interface MediaActiveStream {
  app: string;
  name: string;
  publisherClientId?: string;
}

/**
 * Operations the adapter needs from the media server, embedded (node-media-server) or external
 * (SRS). The callback handling stays the same in both modes.
 */
export interface MediaBackend {
  readonly mode: 'embedded' | 'external';
  /** Kicks the stream's publisher and players; resolves true when a publisher was kicked. */
  kick(stream: StreamRecord): Promise<boolean>;
  /** Kicks one client by id; resolves false when it is not connected. */
  kickClient(clientId: string): Promise<boolean>;
  stat(stream: StreamRecord): Promise<MediaStreamStat | undefined>;
  summaries(): Promise<Record<string, unknown>>;
  version(): Promise<string>;
  /** Streams with an active publisher, or undefined when this backend needs no reconciling. */
  activeStreams(): Promise<MediaActiveStream[] | undefined>;
  /** Called after a publish is allowed (new session or reconnect). */
  onLive(stream: StreamRecord, sessionId: string): void;
  /** Called when the publish has ended for good. */
  onEnded(stream: StreamRecord): Promise<void>;
  /** Removes what the media server keeps for a deleted stream. */
  onDeleted(stream: StreamRecord): Promise<void>;
  close(): Promise<void>;
}
