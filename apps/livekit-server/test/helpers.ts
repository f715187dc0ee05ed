import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';

import express from 'express';
import { AccessToken } from 'livekit-server-sdk';
import type { VideoGrant } from 'livekit-server-sdk';
import WebSocket from 'ws';

import { baseTestEnv, waitFor } from '@castplane/testing';

import { loadConfigFromEnv } from '../src/config';
import { startLivekitServer } from '../src/service';
import type { LivekitServer } from '../src/service';

export interface TestServer {
  server: LivekitServer;
  clientUrl: string;
  adminUrl: string;
  wsUrl: string;
  apiKey: string;
  apiSecret: string;
  stop(): Promise<void>;
}

/**
 * Starts the service on free ports. With `shared` it reuses another instance's prefix and keys (a
 * replica), and `logStream` receives its log lines.
 */
export async function startTestServer(
  extra: Record<string, string> = {},
  shared?: { prefix: string; apiKey: string; apiSecret: string },
  logStream?: NodeJS.WritableStream,
): Promise<TestServer & { prefix: string }> {
  const apiKey = shared?.apiKey ?? `APItest${randomBytes(4).toString('hex')}`;
  const apiSecret = shared?.apiSecret ?? randomBytes(24).toString('hex');
  const env = baseTestEnv('livekit', {
    LIVEKIT_CLIENT_PORT: '0',
    LIVEKIT_ADMIN_PORT: '0',
    LIVEKIT_API_KEY: apiKey,
    LIVEKIT_API_SECRET: apiSecret,
    LIVEKIT_WEBHOOK_URLS: '',
    ...extra,
  });
  if (shared) env.REDIS_KEY_PREFIX = shared.prefix;
  const config = loadConfigFromEnv(env);
  const server = await startLivekitServer(config, {
    logStream: logStream ?? (process.env.LIVEKIT_TEST_LOGS ? process.stdout : new (await import('node:stream')).PassThrough()),
  });
  const client = server.ports.client;
  return {
    server,
    prefix: config.REDIS_KEY_PREFIX,
    clientUrl: `http://127.0.0.1:${client}`,
    adminUrl: `http://127.0.0.1:${server.ports.admin}`,
    wsUrl: `ws://127.0.0.1:${client}`,
    apiKey,
    apiSecret,
    stop: () => server.shutdown.run('test finished'),
  };
}

/**
 * Waits until this process has no TCP sockets or servers left, at most 5 s. BullMQ and ioredis
 * finish closing some connections just after their close promises resolve, and jest reports a
 * worker that still has them as leaking.
 */
export async function socketsClosed(): Promise<void> {
  const tcp = () => process.getActiveResourcesInfo().filter((name) => name.startsWith('TCP')).length;
  await waitFor(() => tcp() === 0, { timeoutMs: 5000, intervalMs: 50, what: 'sockets closed' }).catch(() => undefined);
}

/** Signs a LiveKit access token for a participant. */
export async function joinToken(
  server: Pick<TestServer, 'apiKey' | 'apiSecret'>,
  identity: string,
  room: string,
  grants: VideoGrant = {},
  ttl: number | string = '10m',
): Promise<string> {
  const token = new AccessToken(server.apiKey, server.apiSecret, { identity, ttl });
  token.addGrant({ roomJoin: true, room, ...grants });
  return token.toJwt();
}

/** A signalling client that records every message it receives. */
export class SignalClient {
  readonly messages: Record<string, any>[] = [];
  closeCode?: number;
  closeReason?: string;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => this.messages.push(JSON.parse(data.toString()) as Record<string, any>));
    socket.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
    });
  }

  static async connect(wsUrl: string, room: string, token: string): Promise<SignalClient> {
    const socket = new WebSocket(`${wsUrl}/signal/${encodeURIComponent(room)}?access_token=${encodeURIComponent(token)}`);
    const client = new SignalClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    await client.next('joined');
    return client;
  }

  /** Attempts a connection that should fail; resolves with the HTTP status and JSON body. */
  static rejected(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { headers });
      socket.once('open', () => {
        socket.close();
        reject(new Error('the connection was accepted'));
      });
      socket.once('unexpected-response', (_req, res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
      });
      socket.once('error', () => undefined);
    });
  }

  send(message: object): void {
    this.socket.send(JSON.stringify(message));
  }

  /** Waits for the first message of `type` (matching `where`) not consumed before. */
  async next(type: string, where: (message: Record<string, any>) => boolean = () => true, timeoutMs = 10000) {
    return waitFor(
      () => {
        const index = this.messages.findIndex((message) => message.type === type && where(message));
        if (index < 0) return undefined;
        return this.messages.splice(index, 1)[0];
      },
      { timeoutMs, intervalMs: 20, what: `signal message ${type}` },
    );
  }

  async closed(): Promise<number> {
    return waitFor(() => this.closeCode, { timeoutMs: 10000, what: 'socket close' });
  }

  close(): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.close(1000);
  }
}

export interface CapturedWebhook {
  body: string;
  authorization?: string;
  contentType?: string;
}

/**
 * Starts a local webhook receiver that keeps the raw bodies, as LiveKit's docs advise for Express.
 * `onWebhook` runs for each accepted webhook before the receiver responds.
 */
export async function startWebhookReceiver(options: { failFirst?: number; onWebhook?: (hook: CapturedWebhook) => void } = {}) {
  const received: CapturedWebhook[] = [];
  let failures = options.failFirst ?? 0;
  const app = express();
  app.post('/webhooks/livekit', express.raw({ type: 'application/webhook+json' }), (req, res) => {
    if (failures > 0) {
      failures -= 1;
      res.status(503).end();
      return;
    }
    const hook = {
      body: (req.body as Buffer).toString('utf8'),
      authorization: req.get('Authorization'),
      contentType: req.get('Content-Type'),
    };
    options.onWebhook?.(hook);
    received.push(hook);
    res.status(200).end();
  });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/webhooks/livekit`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export async function adminFetch(base: string, path: string, token: string, init: { method?: string; body?: unknown } = {}) {
  const response = await fetch(`${base}${path}`, {
    method: init.method ?? 'GET',
    headers: { Authorization: `Bearer ${token}`, ...(init.body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as any) : undefined };
}
