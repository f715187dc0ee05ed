import { createHash, randomBytes } from 'node:crypto';

import { AccessToken, WebhookEvent } from 'livekit-server-sdk';
import request from 'supertest';

import type { RunningService } from '@castplane/http';
import { LogCapture, baseTestEnv, freePort } from '@castplane/testing';

import { loadConfigFromEnv } from '../src/config';
import { startLivekitSdk } from '../src/service';

export const LIVEKIT_KEY = `APItest${randomBytes(4).toString('hex')}`;
export const LIVEKIT_SECRET = randomBytes(24).toString('hex');
export const CLIENT_SECRET = randomBytes(16).toString('hex');
export const READER_SECRET = randomBytes(16).toString('hex');

/** `SDK_CLIENTS` with an admin client (sha256 hash) and a read-only one (scrypt hash). */
export function clientEntries(readerHash: string): string {
  const sha = createHash('sha256').update(CLIENT_SECRET).digest('hex');
  return `app:admin:${sha},viewer:read:${readerHash}`;
}

export interface StartedSdk {
  running: RunningService;
  api: string;
  webhooks: string;
  logs: LogCapture;
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/** Starts the service on free ports against `livekitUrl` (a closed port when no server is needed). */
export async function startSdk(label: string, extra: Record<string, string> = {}): Promise<StartedSdk> {
  const { hashClientSecret } = await import('../src/services/client-registry');
  const env = baseTestEnv(label, {
    LIVEKIT_SDK_API_PORT: '0',
    LIVEKIT_SDK_WEBHOOK_PORT: '0',
    LIVEKIT_URL: `http://127.0.0.1:${await freePort()}`,
    LIVEKIT_API_KEY: LIVEKIT_KEY,
    LIVEKIT_API_SECRET: LIVEKIT_SECRET,
    LIVEKIT_REQUEST_TIMEOUT_SECONDS: '5',
    SDK_CLIENTS: clientEntries(hashClientSecret(READER_SECRET)),
    SDK_SETTINGS_ENCRYPTION_KEY: randomBytes(24).toString('hex'),
    LOG_LEVEL: 'info',
    ...extra,
  });
  const logs = new LogCapture();
  const running = await startLivekitSdk(loadConfigFromEnv(env), { logStream: logs.stream });
  return {
    running,
    env,
    logs,
    api: `http://127.0.0.1:${running.ports.api}`,
    webhooks: `http://127.0.0.1:${running.ports.webhooks}`,
    stop: () => running.shutdown.run('test finished'),
  };
}

/** Logs in as a configured client and returns the token pair. */
export async function login(api: string, clientId = 'app', secret = CLIENT_SECRET) {
  const response = await request(api).post('/api/livekit/auth/login').send({ clientId, clientSecret: secret });
  if (response.status !== 200) throw new Error(`login failed: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body as { accessToken: string; refreshToken: string; expiresIn: number };
}

/** Signs a webhook the way LiveKit does: the raw body's SHA-256 in an HS256 token without `Bearer`. */
export async function signedWebhook(event: WebhookEvent, key = LIVEKIT_KEY, secret = LIVEKIT_SECRET) {
  const body = event.toJsonString();
  const token = new AccessToken(key, secret, { ttl: '5m' });
  token.sha256 = createHash('sha256').update(body, 'utf8').digest('base64');
  return {
    body,
    headers: { 'Content-Type': 'application/webhook+json', Authorization: await token.toJwt(), 'User-Agent': 'LiveKit' },
  };
}

let counter = 0;

/** Returns a unique webhook event id in LiveKit's shape: `EV_` and 12 characters. */
export function eventId(): string {
  counter += 1;
  return `EV_${randomBytes(4).toString('hex')}${String(counter).padStart(4, '0')}`;
}

/** Builds a WebhookEvent with `fromJson`, because `new WebhookEvent({event})` drops `event` in SDK 2.19.2. */
export function webhookEvent(fields: Record<string, unknown>): WebhookEvent {
  return WebhookEvent.fromJson({
    id: eventId(),
    createdAt: String(Math.floor(Date.now() / 1000)),
    ...fields,
  } as never);
}

/** Posts a signed event to `path` on the webhook listener. */
export async function postWebhook(webhooks: string, event: WebhookEvent, path = '/webhooks/livekit') {
  const signed = await signedWebhook(event);
  return request(webhooks).post(path).set(signed.headers).send(signed.body);
}
