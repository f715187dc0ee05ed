// Measures signed LiveKit webhooks per second and their latency through the livekit-sdk receiver
// with autocannon. The receiver verifies with WebhookReceiver over the raw body, dedupes in Redis
// and enqueues to BullMQ. The baseline is a bare route with the same middleware stack and raw body
// parsing, in the same run. Every signed request carries a fresh event id, so none is a duplicate.
// Usage: npm run bench:webhooks [-- --events 4000 --connections 10]
import { createHash, randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';

import autocannon from 'autocannon';
import { Queue } from 'bullmq';
import { AccessToken, WebhookEvent } from 'livekit-server-sdk';

import { baseEnvSchema, loadConfig } from '@castplane/config';
import type { BaseConfig } from '@castplane/config';
import { Runtime, defineRoute } from '@castplane/http';
import { bullConnectionOptions } from '@castplane/redis';
import { freePort, startOwnRedis, waitFor } from '@castplane/testing';

import { loadConfigFromEnv } from '../../apps/livekit-sdk/src/config';
import { startLivekitSdk } from '../../apps/livekit-sdk/src/service';
import { WEBHOOK_QUEUE } from '../../apps/livekit-sdk/src/services/webhook.service';

const KEY = 'APIbench';
const SECRET = randomBytes(24).toString('hex');
const JWT_SECRET = randomBytes(32).toString('hex');

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
}

interface Signed {
  body: string;
  headers: Record<string, string>;
}

async function presign(count: number): Promise<Signed[]> {
  const signed: Signed[] = [];
  for (let index = 0; index < count; index += 1) {
    const event = WebhookEvent.fromJson({
      event: index % 2 === 0 ? 'participant_joined' : 'participant_left',
      id: `EV_${randomBytes(6).toString('hex')}`,
      createdAt: String(Math.floor(Date.now() / 1000)),
      room: { sid: `RM_bench${index % 20}`, name: `bench-room-${index % 20}` },
      participant: { sid: `PA_${index}`, identity: `viewer-${index}`, state: 'ACTIVE' },
    } as never);
    const body = event.toJsonString();
    const token = new AccessToken(KEY, SECRET, { ttl: '10m' });
    token.sha256 = createHash('sha256').update(body, 'utf8').digest('base64');
    signed.push({ body, headers: { 'content-type': 'application/webhook+json', authorization: await token.toJwt() } });
  }
  return signed;
}

async function startBare(redisUrl: string, prefix: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const config = loadConfig<BaseConfig>(
    baseEnvSchema,
    { AUTH_JWT_SECRET: JWT_SECRET, REDIS_URL: redisUrl, REDIS_KEY_PREFIX: `${prefix}-bare`, LOG_LEVEL: 'warn' },
    ['AUTH_JWT_SECRET'],
  );
  const runtime = new Runtime({ service: 'bench-bare', config, secrets: ['AUTH_JWT_SECRET'], logStream: new PassThrough().resume() });
  const route = defineRoute({
    method: 'post',
    path: '/webhooks/livekit',
    summary: 'Bare raw-body route',
    auth: 'none',
    rateLimit: false,
    bodyType: 'raw',
    rawTypes: ['application/webhook+json', 'application/json'],
    handler: (_req, res) => {
      res.status(202).json({ status: 'accepted' });
    },
  });
  await runtime.listen('bare', runtime.createApp('bare', [route]), 0);
  runtime.closeRedisLast();
  return { port: runtime.ports.bare, stop: () => runtime.shutdown.run('bench finished') };
}

async function measure(url: string, signed: Signed[], connections: number) {
  let next = 0;
  const result = await autocannon({
    url,
    connections,
    amount: signed.length,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        setupRequest: (request) => {
          const item = signed[next % signed.length];
          next += 1;
          return { ...request, headers: item.headers, body: item.body };
        },
      },
    ],
  });
  return {
    requestsPerSecond: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    seconds: result.duration,
  };
}

type Figures = Awaited<ReturnType<typeof measure>>;

function average(first: Figures, second: Figures): Figures {
  const mean = (a: number, b: number) => Math.round(((a + b) / 2) * 10) / 10;
  return {
    requestsPerSecond: Math.round((first.requestsPerSecond + second.requestsPerSecond) / 2),
    p50: mean(first.p50, second.p50),
    p99: mean(first.p99, second.p99),
    errors: first.errors + second.errors,
    non2xx: first.non2xx + second.non2xx,
    seconds: first.seconds + second.seconds,
  };
}

async function main(): Promise<void> {
  const events = argument('events', 4000);
  const connections = argument('connections', 10);
  const redis = process.env.REDIS_URL ? undefined : await startOwnRedis();
  const redisUrl = process.env.REDIS_URL ?? redis!.url;
  const prefix = `bench-webhooks-${randomBytes(3).toString('hex')}`;
  const sdk = await startLivekitSdk(
    loadConfigFromEnv({
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: prefix,
      AUTH_JWT_SECRET: JWT_SECRET,
      LIVEKIT_API_KEY: KEY,
      LIVEKIT_API_SECRET: SECRET,
      LIVEKIT_URL: `http://127.0.0.1:${await freePort()}`,
      LIVEKIT_SDK_API_PORT: '0',
      LIVEKIT_SDK_WEBHOOK_PORT: '0',
    }),
    { logStream: new PassThrough().resume() },
  );
  const bare = await startBare(redisUrl, prefix);
  const queue = new Queue(WEBHOOK_QUEUE, { connection: bullConnectionOptions(redisUrl) as never, prefix });

  try {
    console.error(`pre-signing ${events} webhooks per scenario`);
    const bareUrl = `http://127.0.0.1:${bare.port}/webhooks/livekit`;
    const bareBefore = await measure(bareUrl, await presign(events), connections);
    const signed = await presign(events);
    const started = Date.now();
    const receiverFigures = await measure(`http://127.0.0.1:${sdk.ports.webhooks}/webhooks/livekit`, signed, connections);
    await waitFor(
      async () => {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed');
        return counts.waiting + counts.active + counts.delayed === 0;
      },
      { timeoutMs: 120000, intervalMs: 50, what: 'webhook queue drained' },
    );
    const drainSeconds = (Date.now() - started) / 1000;
    // The baseline runs before and after the receiver, so a change in machine load hits both.
    const bareAfter = await measure(bareUrl, await presign(events), connections);
    const bareFigures = average(bareBefore, bareAfter);
    const replay = await measure(`http://127.0.0.1:${sdk.ports.webhooks}/webhooks/livekit`, signed.slice(0, Math.min(2000, events)), connections);

    const rows = [
      ['bare raw route (mean)', bareFigures],
      ['signed webhook receiver', receiverFigures],
      ['replayed event ids', replay],
    ] as const;
    console.log(`events ${events}, connections ${connections}`);
    for (const [name, figures] of rows) {
      console.log(
        `${name.padEnd(24)} ${String(figures.requestsPerSecond).padStart(7)} req/s  p50 ${figures.p50} ms  p99 ${figures.p99} ms  errors ${figures.errors}  non-2xx ${figures.non2xx}`,
      );
    }
    console.log(`receiver / bare throughput ratio: ${(receiverFigures.requestsPerSecond / bareFigures.requestsPerSecond).toFixed(2)}`);
    console.log(`queued and applied ${events} events in ${drainSeconds.toFixed(1)} s (${Math.round(events / drainSeconds)} events/s end to end)`);
  } finally {
    await queue.close();
    await bare.stop();
    await sdk.shutdown.run('bench finished');
    await redis?.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
