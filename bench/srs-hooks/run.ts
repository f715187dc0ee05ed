// on_publish decisions per second and latency of the srs-adapter callback route, against a bare
// Express route that parses the same JSON body, measured in the same run with autocannon.
// Usage: npm run bench:srs-hooks [-- --seconds 10]
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import autocannon from 'autocannon';
import express from 'express';

import { signServiceToken } from '@castplane/auth';
import { freePort, waitFor } from '@castplane/testing';

import { loadConfigFromEnv } from '../../apps/srs-adapter/src/config';
import { startSrsAdapter } from '../../apps/srs-adapter/src/service';

// Generated once in the parent; the server children inherit them through the environment.
process.env.BENCH_JWT_SECRET ??= randomBytes(32).toString('hex');
process.env.BENCH_CALLBACK_SECRET ??= randomBytes(16).toString('hex');
const JWT_SECRET = process.env.BENCH_JWT_SECRET;
const CALLBACK_SECRET = process.env.BENCH_CALLBACK_SECRET;

async function serve(kind: string, port: number, redisUrl: string, dir: string): Promise<void> {
  if (kind === 'express') {
    const app = express();
    app.post('/webhooks/srs/on_publish', express.json(), (_req, res) => {
      res.json({ code: 0 });
    });
    app.listen(port, '127.0.0.1');
    return;
  }
  const config = loadConfigFromEnv({
    AUTH_JWT_SECRET: JWT_SECRET, SRS_CALLBACK_SECRET: CALLBACK_SECRET, REDIS_URL: redisUrl, REDIS_KEY_PREFIX: 'bench-hooks',
    SRS_ADAPTER_PORT: String(port), RTMP_PORT: '0', MEDIA_HTTP_PORT: '0', MEDIA_ROOT: join(dir, 'media'), DVR_ROOT: join(dir, 'dvr'),
    LOG_LEVEL: 'info', RATE_LIMIT_MAX: '100000000',
  });
  await startSrsAdapter(config, { logStream: process.stdout });
}

interface Figures {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  statusCodes: Record<string, number>;
}

async function measure(url: string, body: string, seconds: number, rate?: number): Promise<Figures> {
  const result = await autocannon({
    url, method: 'POST', headers: { 'content-type': 'application/json' }, body,
    connections: rate ? 20 : 50, pipelining: 1, duration: seconds, overallRate: rate,
  });
  return {
    requestsPerSecond: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, stat]) => [code, (stat as { count: number }).count])),
  };
}

function hookBody(key: string): string {
  return JSON.stringify({
    server_id: 'vid-bench00', service_id: 'bench000', action: 'on_publish', client_id: 'bench001', ip: '127.0.0.1',
    vhost: '__defaultVhost__', app: 'live', tcUrl: 'rtmp://127.0.0.1:1935/live', stream: 'bench', param: `?key=${key}`,
    stream_url: '/live/bench', stream_id: 'vid-bench01',
  });
}

function startChild(kind: string, port: number, redisUrl: string, dir: string): ChildProcess {
  return spawn(process.execPath, [...process.execArgv, __filename, '--serve', kind, String(port), redisUrl, dir], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function main(): Promise<void> {
  const serveAt = process.argv.indexOf('--serve');
  if (serveAt > 0) {
    process.once('SIGTERM', () => process.exit(0));
    const [kind, port, redisUrl, dir] = process.argv.slice(serveAt + 1);
    await serve(kind, Number(port), redisUrl, dir);
    return;
  }
  const secondsAt = process.argv.indexOf('--seconds');
  const seconds = secondsAt > 0 ? Number(process.argv[secondsAt + 1]) : 10;
  const dir = mkdtempSync(join(tmpdir(), 'bench-srs-hooks-'));
  const redisPort = await freePort();
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const redisPid = spawnSync('bash', ['scripts/redis-up.sh', String(redisPort), join(dir, 'redis')], { encoding: 'utf8' }).stdout.trim();
  const results: Record<string, Figures> = {};
  const children: ChildProcess[] = [];
  try {
    const expressPort = await freePort();
    children.push(startChild('express', expressPort, redisUrl, dir));
    const expressUrl = `http://127.0.0.1:${expressPort}/webhooks/srs/on_publish`;
    await waitFor(() => fetch(expressUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).then((res) => res.ok), { timeoutMs: 20000, what: 'express' });
    await measure(expressUrl, hookBody('x'), 2);
    results.express = await measure(expressUrl, hookBody('x'), seconds);
    results.expressAt2000 = await measure(expressUrl, hookBody('x'), seconds, 2000);

    const adapterPort = await freePort();
    children.push(startChild('adapter', adapterPort, redisUrl, dir));
    const api = `http://127.0.0.1:${adapterPort}`;
    await waitFor(() => fetch(`${api}/ready`).then((res) => res.ok), { timeoutMs: 30000, what: 'adapter' });
    const token = await signServiceToken({ sub: 'bench', scope: ['admin'] }, { secret: JWT_SECRET, issuer: 'castplane', ttlSeconds: 3600 });
    const created = (await fetch(`${api}/api/v1/streams`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"name":"bench"}',
    }).then((res) => res.json())) as { streamKey: string };
    const hookUrl = `${api}/webhooks/srs/on_publish?secret=${CALLBACK_SECRET}`;
    await measure(hookUrl, hookBody(created.streamKey), 2);
    // The first allowed publish makes bench001 the publisher; repeats are the duplicate-callback path.
    results.allow = await measure(hookUrl, hookBody(created.streamKey), seconds);
    results.allowAt2000 = await measure(hookUrl, hookBody(created.streamKey), seconds, 2000);
    results.denyWrongKeyAt2000 = await measure(hookUrl, hookBody('wrong-key'), seconds, 2000);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    if (redisPid) process.kill(Number(redisPid), 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }

  const ratio = results.allow.requestsPerSecond / results.express.requestsPerSecond;
  console.log(JSON.stringify({ date: new Date().toISOString(), seconds, results, adapterToExpressThroughput: Number(ratio.toFixed(3)) }, null, 2));
  console.log('\n| target | req/s | p50 ms | p99 ms | errors | non-2xx |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const [name, figures] of Object.entries(results)) {
    console.log(`| ${name} | ${figures.requestsPerSecond} | ${figures.p50} | ${figures.p99} | ${figures.errors} | ${figures.non2xx} |`);
  }
  console.log(`\nadapter on_publish / bare Express throughput: ${ratio.toFixed(2)}; target p99 < 5 ms at 2000/s`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
