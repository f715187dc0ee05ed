import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';

import type { Request, Response } from 'express';

import type { Logger } from '@castplane/logging';

import type { SrsHookBody } from '../schemas/hook.schemas';
import type { HookService } from '../services/hook.service';
import type { StreamRecord } from '../services/stream.store';
import { FlvRecorder, HlsRemuxer } from './flv-sinks';
import type { MediaActiveStream, MediaBackend, MediaStreamStat } from './media-backend';
import { NAME_PATTERN } from '../schemas/stream.schemas';
import {
  AUDIO_CODECS,
  BroadcastServer,
  FlvSession,
  NMS_VERSION,
  NodeMediaServer,
  RtmpSession,
  VIDEO_CODECS,
  nmsContext,
  nmsLogger,
  nmsRates,
} from './nms';
import type { NmsFlvSession, NmsRtmpSession, NmsServer, NmsSession } from './nms';

export interface EmbeddedOptions {
  host: string;
  rtmpPort: number;
  mediaRoot: string;
  dvrRoot: string;
  ffmpeg: string;
  hlsSegmentSeconds: number;
  hlsListSize: number;
  logger: Logger;
  hooks: () => HookService;
  /** The current takeover policy; `kick` lets a second publisher replace the live one. */
  takeover: () => 'reject' | 'kick';
}

/** How long a takeover waits for the kicked publisher's socket to close. */
const TAKEOVER_CLOSE_MS = 5000;

/** Directory of the live HLS remux of a stream; a dot folder, so `/media` never serves it. */
export function liveHlsDir(mediaRoot: string, app: string, name: string): string {
  return join(mediaRoot, '.live', app, name);
}

/**
 * RTMP ingest in this process through node-media-server 4.4.3. Its synchronous hooks become
 * SRS-shaped callback bodies for {@link HookService}; a denied client's socket is destroyed.
 * node-media-server's own listeners, store and recorder are not started: the adapter owns the
 * RTMP socket (so a busy port is an error, not `process.exit`), and its store would install
 * SIGINT/SIGTERM handlers that exit the process.
 */
export class EmbeddedBackend implements MediaBackend {
  readonly mode = 'embedded' as const;
  private readonly nms: NmsServer;
  private readonly server: Server;
  private readonly allowed = new Set<string>();
  /** Publishers whose publish was already allowed by a takeover, before node-media-server saw them. */
  private readonly decided = new Set<string>();
  /** RTMP sockets whose close node-media-server has already handled. */
  private readonly closedSockets = new WeakSet<Socket>();
  private readonly recorders = new Map<string, FlvRecorder>();
  private readonly remuxers = new Map<string, HlsRemuxer>();
  private readonly listeners: [string, (session: NmsSession) => void][];
  port = 0;

  constructor(private readonly options: EmbeddedOptions) {
    // node-media-server logs with console.log; its lines go to our logger instead.
    nmsLogger.log = (message: string, level = 'info') => {
      if (level === 'error' || level === 'warn') options.logger.warn('node-media-server', { detail: message });
      else options.logger.debug('node-media-server', { detail: message });
    };
    this.nms = new NodeMediaServer({ bind: options.host, rtmp: { port: options.rtmpPort || 1 }, webadmin: { enable: false } });
    this.server = createServer((socket) => this.acceptRtmp(socket));
    this.listeners = [
      ['prePublish', (session) => this.prePublish(session)],
      ['prePlay', (session) => this.prePlay(session)],
    ];
    for (const [event, listener] of this.listeners) nmsContext.eventEmitter.on(event, listener);
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.rtmpPort, this.options.host, () => resolve());
    });
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this.port;
  }

  /** Handles an HTTP-FLV play of `/{app}/{name}.flv` that the media listener already authorized. */
  serveFlv(req: Request, res: Response): void {
    const { app, name } = req.params as Record<string, string>;
    // The session is built under a placeholder path that passes node-media-server's own name
    // check, then bound to the real one.
    const placeholder = { app: 'flv', name: randomBytes(8).toString('hex') };
    req.params = placeholder;
    const session = new FlvSession(req, res);
    nmsContext.broadcasts.delete(`/${placeholder.app}/${placeholder.name}`);
    if (!bindStreamPath(session, app, name)) {
      this.options.logger.warn('flv play rejected: invalid stream path', { app });
      return void res.status(404).end();
    }
    session.run();
    nmsContext.sessions.set(session.id, session);
  }

  /** Runs an RTMP connection with the adapter's stream name rule in place of node-media-server's. */
  private acceptRtmp(socket: Socket): void {
    const session = new RtmpSession(socket);
    session.run();
    // Registered after run(), so it fires after node-media-server has ended the session.
    socket.once('close', () => this.closedSockets.add(socket));
    session.rtmp.onConnectCallback = (req) => {
      if (!bindStreamPath(session, req.app, req.name)) return void socket.end();
      session.streamHost = req.host;
      session.streamQuery = req.query;
    };
    const push = session.rtmp.onPushCallback;
    session.rtmp.onPushCallback = () => {
      const current = session.broadcast.publisher;
      if (this.options.takeover() !== 'kick' || !current?.socket || current === session) return push();
      void this.takeOver(session, socket, current.socket, push);
    };
    nmsContext.sessions.set(session.id, session);
  }

  /**
   * Lets a second publisher replace the live one. node-media-server rejects a second publisher as
   * busy before an async decision could kick the first, so the decision comes first here: an
   * allowed publish kicks the live publisher, waits for its socket to close, then publishes.
   */
  private async takeOver(session: NmsRtmpSession, socket: Socket, previous: Socket, push: () => void): Promise<void> {
    socket.pause();
    try {
      const decision = await this.options.hooks().onPublish(this.hookBody(session, 'on_publish'));
      if (!decision.allow) return void socket.destroy();
      // `closed` turns true before the close event, so node-media-server's own close handling is
      // tracked instead: the broadcast frees the publisher slot there.
      if (!this.closedSockets.has(previous)) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('the kicked publisher did not disconnect')), TAKEOVER_CLOSE_MS);
          previous.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      this.decided.add(session.id);
      push();
    } catch (error) {
      this.options.logger.warn('publish takeover failed', { clientId: session.id, err: error instanceof Error ? error.message : String(error) });
      socket.destroy();
    }
  }

  hookBody(session: NmsSession, action: string, protocol?: SrsHookBody['protocol']): SrsHookBody {
    const query = new URLSearchParams(session.streamQuery as Record<string, string>).toString();
    return {
      action,
      client_id: session.id,
      ip: session.ip.replace(/:\d+$/, ''),
      vhost: '__defaultVhost__',
      app: session.streamApp,
      stream: session.streamName,
      param: query ? `?${query}` : '',
      stream_url: `/${session.streamApp}/${session.streamName}`,
      server_id: 'embedded',
      protocol,
    };
  }

  private prePublish(session: NmsSession): void {
    const socket = session.socket;
    if (!socket) return;
    if (this.decided.delete(session.id)) return this.admitPublisher(session, socket);
    socket.pause();
    this.options.hooks().onPublish(this.hookBody(session, 'on_publish'))
      .then((decision) => (decision.allow ? this.admitPublisher(session, socket) : socket.destroy()))
      .catch((error: Error) => {
        this.options.logger.error('publish decision failed', { clientId: session.id, err: error.message });
        socket.destroy();
      });
  }

  private admitPublisher(session: NmsSession, socket: Socket): void {
    this.allowed.add(session.id);
    socket.once('close', () => {
      this.allowed.delete(session.id);
      void this.options.hooks().onUnpublish(this.hookBody(session, 'on_unpublish')).catch((error: Error) =>
        this.options.logger.warn('unpublish handling failed', { clientId: session.id, err: error.message }));
    });
    socket.resume();
  }

  private prePlay(session: NmsSession): void {
    const socket = session.socket;
    if (session.protocol !== 'rtmp' || !socket) return;
    // node-media-server writes the cached GOP right after this event, before the decision arrives.
    // Corking keeps those writes back, so a denied player receives no media at all.
    socket.pause();
    socket.cork();
    this.options.hooks().onPlay(this.hookBody(session, 'on_play', 'rtmp'))
      .then((decision) => {
        if (!decision.allow) return socket.destroy();
        socket.once('close', () => void this.options.hooks().onStop(this.hookBody(session, 'on_stop', 'rtmp')).catch(() => undefined));
        socket.uncork();
        socket.resume();
      })
      .catch(() => socket.destroy());
  }

  onLive(stream: StreamRecord, _sessionId: string): void {
    const path = `/${stream.app}/${stream.name}`;
    if (!nmsContext.broadcasts.get(path)?.publisher) return;
    if (!this.remuxers.has(stream.id)) {
      const remuxer = new HlsRemuxer(path, {
        ffmpeg: this.options.ffmpeg,
        playlist: join(liveHlsDir(this.options.mediaRoot, stream.app, stream.name), `${stream.name}.m3u8`),
        segmentSeconds: this.options.hlsSegmentSeconds,
        listSize: this.options.hlsListSize,
      });
      if (remuxer.attach()) this.remuxers.set(stream.id, remuxer);
    }
    if (stream.dvr && !this.recorders.has(stream.id)) {
      const file = join(this.options.dvrRoot, stream.app, stream.name, `${stream.name}.${Date.now()}.flv`);
      const recorder = new FlvRecorder(path, file);
      if (recorder.attach()) this.recorders.set(stream.id, recorder);
    }
  }

  async onEnded(stream: StreamRecord): Promise<void> {
    const remuxer = this.remuxers.get(stream.id);
    this.remuxers.delete(stream.id);
    const recorder = this.recorders.get(stream.id);
    this.recorders.delete(stream.id);
    await remuxer?.stop();
    if (recorder) {
      const duration = await recorder.stop();
      await this.options.hooks().recordingReady(stream, recorder.file, duration);
    }
  }

  async kick(stream: StreamRecord): Promise<boolean> {
    const broadcast = nmsContext.broadcasts.get(`/${stream.app}/${stream.name}`);
    if (!broadcast) return false;
    for (const player of broadcast.subscribers.values()) {
      if (player.ip !== '') closeSession(player);
    }
    const publisher = broadcast.publisher;
    if (!publisher || !this.allowed.has(publisher.id)) return false;
    closeSession(publisher);
    return true;
  }

  async kickClient(clientId: string): Promise<boolean> {
    const session = nmsContext.sessions.get(clientId);
    if (!session) return false;
    closeSession(session);
    return true;
  }

  async stat(stream: StreamRecord): Promise<MediaStreamStat | undefined> {
    const path = `/${stream.app}/${stream.name}`;
    const broadcast = nmsContext.broadcasts.get(path);
    const publisher = broadcast?.publisher;
    if (!broadcast || !publisher || !this.allowed.has(publisher.id)) return undefined;
    const rates = nmsRates.rateSampler.getStreamRates(path);
    let outBytes = 0;
    for (const player of broadcast.subscribers.values()) outBytes += player.ip ? player.outBytes : 0;
    return {
      publisher: { clientId: publisher.id, ip: publisher.ip.replace(/:\d+$/, ''), since: new Date(publisher.createTime).toISOString() },
      video: publisher.videoWidth
        ? { codec: VIDEO_CODECS[publisher.videoCodec] ?? String(publisher.videoCodec), width: publisher.videoWidth, height: publisher.videoHeight, fps: publisher.videoFramerate }
        : undefined,
      audio: publisher.audioSamplerate
        ? { codec: AUDIO_CODECS[publisher.audioCodec] ?? String(publisher.audioCodec), sampleRate: publisher.audioSamplerate, channels: publisher.audioChannels }
        : undefined,
      kbps: { in: Math.round((rates.inBps * 8) / 1000), out: Math.round((rates.outBps * 8) / 1000) },
      bytes: { in: publisher.inBytes, out: outBytes },
    };
  }

  async summaries(): Promise<Record<string, unknown>> {
    const memory = process.memoryUsage();
    return {
      source: 'host',
      cpus: cpus().length,
      load: loadavg(),
      memory: { totalBytes: totalmem(), freeBytes: freemem(), processRssBytes: memory.rss },
      processCpuMicros: process.cpuUsage(),
      connections: nmsContext.sessions.size,
    };
  }

  async version(): Promise<string> {
    return `node-media-server ${NMS_VERSION}`;
  }

  async activeStreams(): Promise<MediaActiveStream[] | undefined> {
    return undefined;
  }

  /** Removes the live HLS files of a deleted stream. */
  async onDeleted(stream: StreamRecord): Promise<void> {
    await rm(liveHlsDir(this.options.mediaRoot, stream.app, stream.name), { recursive: true, force: true });
  }

  async close(): Promise<void> {
    for (const [event, listener] of this.listeners) nmsContext.eventEmitter.off(event, listener);
    await Promise.allSettled([...this.remuxers.values()].map((remuxer) => remuxer.stop()));
    await Promise.allSettled([...this.recorders.values()].map((recorder) => recorder.stop()));
    this.remuxers.clear();
    this.recorders.clear();
    for (const session of nmsContext.sessions.values()) closeSession(session);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.nms.stop().catch(() => undefined);
  }
}

/**
 * Points a session at the broadcast of `/{app}/{name}`. node-media-server 4.4.3 accepts only
 * `[A-Za-z0-9_-]` in names, and the adapter's own rule also allows dots (as in `cam.main`).
 */
function bindStreamPath(session: NmsRtmpSession | NmsFlvSession, app: string, name: string): boolean {
  if (!NAME_PATTERN.test(app) || !NAME_PATTERN.test(name)) return false;
  const path = `/${app}/${name}`;
  session.streamApp = app;
  session.streamName = name;
  session.streamPath = path;
  session.broadcast = nmsContext.broadcasts.get(path) ?? new BroadcastServer(path);
  nmsContext.broadcasts.set(path, session.broadcast);
  return true;
}

function closeSession(session: NmsSession): void {
  if (session.socket) session.socket.destroy();
  else if (session.res) session.res.destroy();
  else session.close();
}
