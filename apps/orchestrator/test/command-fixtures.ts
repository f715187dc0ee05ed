import type { Worker } from 'bullmq';

import { AppError } from '@castplane/errors';
import type { ErrorCode } from '@castplane/errors';
import type { Logger } from '@castplane/logging';
import { createLogger } from '@castplane/logging';
import { serveCommands } from '@castplane/redis';
import type { QueueContext } from '@castplane/redis';

/**
 * Small command workers standing in for the four services so the flow engine's retry,
 * rollback, idempotency and crash paths can be driven on purpose. They keep the contracts'
 * idempotency rules (same requestId or room name returns the same resource) and record every
 * call and every resource they create. The real services are exercised in tests/e2e.
 */
export interface FixtureCall {
  service: string;
  command: string;
  payload: Record<string, any>;
}

export interface FailurePlan {
  code: ErrorCode;
  /** How many calls fail before the command succeeds; Infinity fails for good. */
  times: number;
}

export class CommandFixtures {
  readonly calls: FixtureCall[] = [];
  /** Resources created (not returned again for a repeated request), by kind. */
  readonly created = { streams: 0, rooms: 0, arms: 0, broadcasts: 0, tokens: 0 };
  readonly failures = new Map<string, FailurePlan>();
  private readonly gates = new Map<string, { held: Promise<void>; release: () => void }>();
  private readonly workers: Worker[] = [];
  private readonly streams = new Map<string, Record<string, string>>();
  private readonly rooms = new Set<string>();
  private readonly broadcasts = new Map<string, string>();
  private readonly logger: Logger;

  constructor(private readonly context: Omit<QueueContext, 'logger'>) {
    this.logger = createLogger({ service: 'fixtures', level: 'error', version: 'test', env: 'test' });
  }

  /** Holds `service command` calls until the returned function is called. */
  hold(key: string): () => void {
    let resolve!: () => void;
    const held = new Promise<void>((done) => (resolve = done));
    const release = () => {
      this.gates.delete(key);
      resolve();
    };
    this.gates.set(key, { held, release });
    return release;
  }

  commandsOf(service: string): string[] {
    return this.calls.filter((call) => call.service === service).map((call) => call.command);
  }

  private async enter(service: string, command: string, payload: Record<string, any>): Promise<void> {
    this.calls.push({ service, command, payload });
    const key = `${service} ${command}`;
    await this.gates.get(key)?.held;
    const plan = this.failures.get(key);
    if (plan && plan.times > 0) {
      plan.times -= 1;
      throw new AppError(plan.code, `${command} failed on purpose`);
    }
  }

  start(services: string[] = ['srs-adapter', 'livekit-server', 'encoder', 'livekit-sdk']): void {
    const context = { ...this.context, logger: this.logger };
    const apply = async (payload: { settings: Record<string, unknown> }) => ({
      changed: Object.fromEntries(Object.entries(payload.settings).map(([key, value]) => [key, { from: null, to: value }])),
      ignored: [],
    });
    const plain = (service: string, command: string, result: (payload: any) => any) => async (payload: any) => {
      await this.enter(service, command, payload);
      return result(payload);
    };
    if (services.includes('srs-adapter')) {
      this.workers.push(
        serveCommands(context, 'srs-adapter', {
          'config.apply': plain('srs-adapter', 'config.apply', apply),
          'stream.create': async (payload) => {
            await this.enter('srs-adapter', 'stream.create', payload);
            return this.stream(payload.requestId, payload.app ?? 'live', payload.name) as never;
          },
          'stream.unpublish': plain('srs-adapter', 'stream.unpublish', (p) => ({ streamId: p.streamId, kicked: false })),
          'stream.delete': plain('srs-adapter', 'stream.delete', (p) => ({ streamId: p.streamId, deleted: true })),
        }),
      );
    }
    if (services.includes('livekit-server')) {
      this.workers.push(
        serveCommands(context, 'livekit-server', {
          'config.apply': plain('livekit-server', 'config.apply', apply),
          'room.create': plain('livekit-server', 'room.create', (p) => {
            const created = !this.rooms.has(p.name);
            if (created) this.created.rooms += 1;
            this.rooms.add(p.name);
            return { sid: `RM_${p.name}`, name: p.name, created };
          }),
          'room.end': plain('livekit-server', 'room.end', (p) => ({ name: p.name, ended: true })),
          'room.delete': plain('livekit-server', 'room.delete', (p) => ({ name: p.name, deleted: this.rooms.delete(p.name) })),
        }),
      );
    }
    if (services.includes('encoder')) {
      this.workers.push(
        serveCommands(context, 'encoder', {
          'config.apply': plain('encoder', 'config.apply', apply),
          'transcode.arm': plain('encoder', 'transcode.arm', (p) => {
            this.created.arms += 1;
            return { state: 'armed', masterPlaylistPath: `hls/${p.app}/${p.name}/master.m3u8` };
          }),
          'transcode.stop': plain('encoder', 'transcode.stop', () => ({ stopped: true })),
          'transcode.disarm': plain('encoder', 'transcode.disarm', () => ({ removed: true })),
        }),
      );
    }
    if (services.includes('livekit-sdk')) {
      this.workers.push(
        serveCommands(context, 'livekit-sdk', {
          'config.apply': plain('livekit-sdk', 'config.apply', apply),
          'broadcast.create': plain('livekit-sdk', 'broadcast.create', (p) => {
            if (!this.broadcasts.has(p.requestId)) this.created.broadcasts += 1;
            const streamId = this.broadcasts.get(p.requestId) ?? `bc_${this.broadcasts.size + 1}`;
            this.broadcasts.set(p.requestId, streamId);
            return { streamId, roomName: p.roomName };
          }),
          'broadcast.stop': plain('livekit-sdk', 'broadcast.stop', (p) => ({ streamId: p.streamId, state: 'stopped' })),
          'broadcast.delete': plain('livekit-sdk', 'broadcast.delete', (p) => ({ streamId: p.streamId, deleted: true })),
          'token.issue': plain('livekit-sdk', 'token.issue', (p) => {
            this.created.tokens += 1;
            return { token: `token-${p.identity}-${this.created.tokens}`, tokenId: `tk_${this.created.tokens}`, signalUrl: `ws://127.0.0.1:7880/signal/${p.roomName}`, expiresAt: new Date(Date.now() + 3600_000).toISOString() };
          }),
        }),
      );
    }
  }

  private stream(requestId: string, app: string, name: string) {
    let stream = this.streams.get(requestId);
    if (!stream) {
      this.created.streams += 1;
      stream = {
        streamId: `st_${this.streams.size + 1}`,
        name,
        app,
        streamKey: `key-${requestId}`,
        rtmpUrl: `rtmp://127.0.0.1:1935/${app}/${name}?key=key-${requestId}`,
        hlsUrl: `http://127.0.0.1:8080/${app}/${name}.m3u8`,
        flvUrl: `http://127.0.0.1:8080/${app}/${name}.flv`,
      };
      this.streams.set(requestId, stream);
    }
    return stream;
  }

  async close(): Promise<void> {
    for (const gate of [...this.gates.values()]) gate.release();
    await Promise.allSettled(this.workers.map((worker) => worker.close()));
  }
}
