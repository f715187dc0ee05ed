// Throughput and latency of one authenticated, rate-limited, logged GET route against a bare
// Express route and a bare node:http handler, measured in the same run with autocannon.
// Usage: npm run bench:http-overhead [-- --seconds 10]
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import autocannon from 'autocannon';
import express from 'express';

import { signServiceToken } from '@castplane/auth';
import { Joi, baseEnvSchema, loadConfig } from '@castplane/config';
import type { BaseConfig } from '@castplane/config';
import { Runtime, defineRoute } from '@castplane/http';
import { freePort, waitFor } from '@castplane/testing';

const SECRET = 'bench-secret-bench-secret-bench-secret-0';
const PAYLOAD = { id: 'stream-1', state: 'live', viewers: 12 };
const ROUNDS = 3;

async function serve(kind: string, port: number, redisUrl: string): Promise<void> {
  if (kind === 'node') {
    http
      .createServer((_req, res) => {
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify(PAYLOAD));
      })
      .listen(port, '127.0.0.1');
    return;
  }
  if (kind === 'express') {
    const app = express();
    app.get('/api/streams/:id', (_req, res) => {
      res.json(PAYLOAD);
    });
    app.listen(port, '127.0.0.1');
    return;
  }
  const config = loadConfig<BaseConfig>(baseEnvSchema, {
    AUTH_JWT_SECRET: SECRET,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: 'bench',
    RATE_LIMIT_MAX: '100000000',
    // BENCH_LOG_LEVEL=warn drops the access log line, to see what logging costs.
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
  }, ['AUTH_JWT_SECRET']);
  const runtime = new Runtime({ service: 'bench', config, secrets: ['AUTH_JWT_SECRET'] });
  const route = defineRoute<{ params: { id: string } }>({
    method: 'get',
    path: '/api/streams/:id',
    summary: 'One stream',
    auth: 'read',
    validate: { params: Joi.object({ id: Joi.string().pattern(/^[a-z0-9-]{1,64}$/).required() }) },
    handler: (_req, res) => {
      res.json(PAYLOAD);
    },
  });
  await runtime.listen('api', runtime.createApp('api', [route]), port);
}

interface Figures {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

async function measure(url: string, headers: Record<string, string>, seconds: number, rate?: number): Promise<Figures> {
  const result = await autocannon({
    url,
    headers,
    connections: rate ? 20 : 50,
    pipelining: 1,
    duration: seconds,
    overallRate: rate,
  });
  return {
    requestsPerSecond: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

function startChild(kind: string, port: number, redisUrl: string): ChildProcess {
  return spawn(process.execPath, [...process.execArgv, __filename, '--serve', kind, String(port), redisUrl], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function main(): Promise<void> {
  const serveAt = process.argv.indexOf('--serve');
  if (serveAt > 0) {
    // Exit normally on a signal so that --cpu-prof can write its profile.
    process.once('SIGINT', () => process.exit(0));
    process.once('SIGTERM', () => process.exit(0));
    await serve(process.argv[serveAt + 1], Number(process.argv[serveAt + 2]), process.argv[serveAt + 3]);
    return;
  }
  const secondsAt = process.argv.indexOf('--seconds');
  const seconds = secondsAt > 0 ? Number(process.argv[secondsAt + 1]) : 5;

  const redisPort = await freePort();
  const redisDir = mkdtempSync(join(tmpdir(), 'bench-redis-'));
  const redisPid = spawnSync('bash', ['scripts/redis-up.sh', String(redisPort), redisDir], { encoding: 'utf8' }).stdout.trim();
  const token = await signServiceToken({ sub: 'bench', scope: ['read'] }, { secret: SECRET, issuer: 'castplane', ttlSeconds: 3600 });
  const targets: { kind: string; headers: Record<string, string> }[] = [
    { kind: 'node', headers: {} },
    { kind: 'express', headers: {} },
    { kind: 'stack', headers: { Authorization: `Bearer ${token}` } },
  ];
  const children: ChildProcess[] = [];
  const rounds: Record<string, Figures & { at1000?: Figures }>[] = [];
  try {
    const urls: Record<string, string> = {};
    for (const target of targets) {
      const port = await freePort();
      children.push(startChild(target.kind, port, `redis://127.0.0.1:${redisPort}`));
      urls[target.kind] = `http://127.0.0.1:${port}/api/streams/stream-1`;
      await waitFor(() => fetch(urls[target.kind], { headers: target.headers }).then((res) => res.ok), {
        timeoutMs: 20000,
        what: target.kind,
      });
      await measure(urls[target.kind], target.headers, 2); // warm-up
    }
    // Targets alternate within each round, so a burst of load from elsewhere on the machine hits
    // every target alike. The round with the median ratio is reported.
    for (let round = 0; round < ROUNDS; round += 1) {
      const figures: Record<string, Figures & { at1000?: Figures }> = {};
      for (const target of targets) {
        figures[target.kind] = await measure(urls[target.kind], target.headers, seconds);
        if (target.kind !== 'node') {
          figures[target.kind].at1000 = await measure(urls[target.kind], target.headers, seconds, 1000);
        }
      }
      rounds.push(figures);
    }
  } finally {
    for (const child of children) child.kill('SIGTERM');
    if (redisPid) process.kill(Number(redisPid), 'SIGTERM');
    rmSync(redisDir, { recursive: true, force: true });
  }

  const ratioOf = (figures: Record<string, Figures>) => figures.stack.requestsPerSecond / figures.express.requestsPerSecond;
  const sorted = [...rounds].sort((a, b) => ratioOf(a) - ratioOf(b));
  const results = sorted[Math.floor(sorted.length / 2)];
  console.log(`ratios by round: ${rounds.map((figures) => ratioOf(figures).toFixed(2)).join(', ')}`);
  const ratio = results.stack.requestsPerSecond / results.express.requestsPerSecond;
  console.log(JSON.stringify({ date: new Date().toISOString(), seconds, rounds: ROUNDS, results, stackToExpressThroughput: Number(ratio.toFixed(3)) }, null, 2));
  console.log(`\n| target | req/s (50 conns) | p50 ms | p99 ms | p99 ms at 1000 req/s |`);
  console.log(`| --- | --- | --- | --- | --- |`);
  for (const [kind, figures] of Object.entries(results)) {
    console.log(`| ${kind} | ${figures.requestsPerSecond} | ${figures.p50} | ${figures.p99} | ${figures.at1000?.p99 ?? '-'} |`);
  }
  console.log(`\nfull stack / bare Express throughput: ${ratio.toFixed(2)} (target >= 0.60)`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
