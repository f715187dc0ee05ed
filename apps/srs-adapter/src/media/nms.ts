/* eslint-disable @typescript-eslint/no-require-imports */
// node-media-server ships CommonJS without types; these are the parts the adapter touches.

export interface NmsSession {
  id: string;
  ip: string;
  protocol: string;
  isPublisher: boolean;
  streamApp: string;
  streamName: string;
  streamPath: string;
  streamQuery: Record<string, string | string[]>;
  createTime: number;
  inBytes: number;
  outBytes: number;
  videoCodec: number;
  videoWidth: number;
  videoHeight: number;
  videoFramerate: number;
  audioCodec: number;
  audioChannels: number;
  audioSamplerate: number;
  socket?: import('node:net').Socket;
  res?: import('node:http').ServerResponse;
  close(): void;
  sendBuffer(buffer: Buffer): void;
}

/** An RTMP connection. Its `rtmp.onConnectCallback` runs when a publish or play names the stream. */
export interface NmsRtmpSession extends NmsSession {
  streamHost?: string;
  broadcast: NmsBroadcast;
  rtmp: {
    onConnectCallback(req: { app: string; name: string; host?: string; query: Record<string, string | string[]> }): void;
    onPushCallback(): void;
  };
  run(): void;
}

/** An HTTP-FLV player, built from the `params`, `query`, `hostname`, `method` and `socket` of an Express request. */
export interface NmsFlvSession extends NmsSession {
  broadcast: NmsBroadcast;
  run(): void;
}

export interface NmsBroadcast {
  publisher: NmsSession | null;
  subscribers: Map<string, NmsSession>;
  postPlay(session: unknown): string | null;
  donePlay(session: unknown): void;
}

export interface NmsContext {
  sessions: Map<string, NmsSession>;
  broadcasts: Map<string, NmsBroadcast>;
  eventEmitter: import('node:events').EventEmitter;
}

export interface NmsServer {
  stop(): Promise<void>;
}

export const NodeMediaServer = require('node-media-server') as new (config: object) => NmsServer;
export const nmsContext = require('node-media-server/src/core/context.js') as NmsContext;
export const nmsLogger = require('node-media-server/src/core/logger.js') as {
  level: string;
  log: (message: string, level?: string) => void;
};
export const nmsRates = require('node-media-server/src/core/rate_sampler.js') as {
  rateSampler: { getStreamRates(path: string): { inBps: number; outBps: number } };
};
export const BaseSession = require('node-media-server/src/session/base_session.js') as new () => NmsSession;
export const RtmpSession = require('node-media-server/src/session/rtmp_session.js') as new (
  socket: import('node:net').Socket,
) => NmsRtmpSession;
export const FlvSession = require('node-media-server/src/session/flv_session.js') as new (req: unknown, res: unknown) => NmsFlvSession;
export const BroadcastServer = require('node-media-server/src/server/broadcast_server.js') as new (path: string) => NmsBroadcast;
export const NMS_VERSION = (require('node-media-server/package.json') as { version: string }).version;

/** FLV codec ids as node-media-server reports them from onMetaData. */
export const VIDEO_CODECS: Record<number, string> = { 7: 'H264', 12: 'HEVC', 13: 'AV1' };
export const AUDIO_CODECS: Record<number, string> = { 2: 'MP3', 10: 'AAC', 13: 'OPUS' };
