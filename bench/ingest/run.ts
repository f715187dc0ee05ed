// Concurrent RTMP publishers into the embedded ingest, each with one HTTP-FLV player: CPU and
// memory per stream of the adapter (and its HLS remux children) and frames lost between the
// publisher and the player. Levels grow until a level degrades; level 1 is the baseline.
// Usage: npm run bench:ingest [-- --window 15 --levels 1,10,25,50,75,100]
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pidusage from 'pidusage';

import { signServiceToken } from '@castplane/auth';
import { freePort, stopProcess, waitFor } from '@castplane/testing';

import { loadConfigFromEnv } from '../../apps/srs-adapter/src/config';
import { startSrsAdapter } from '../../apps/srs-adapter/src/service';

process.env.BENCH_JWT_SECRET ??= randomBytes(32).toString('hex');
const JWT_SECRET = process.env.BENCH_JWT_SECRET;

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
}

/** An ffmpeg child whose `-progress` output is parsed for its frame count. */
class Counted {
  frames = 0;
  readonly child: ChildProcess;

  constructor(args: string[]) {
    this.child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-progress', 'pipe:1', '-nostats', ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.child.stdout?.on('data', (chunk: Buffer) => {
      for (const match of chunk.toString().matchAll(/^frame=(\d+)$/gm)) this.frames = Number(match[1]);
    });
  }
}

async function serveAdapter(port: number, redisUrl: string, dir: string, rtmpPort: number, mediaPort: number): Promise<void> {
  const config = loadConfigFromEnv({
    AUTH_JWT_SECRET: JWT_SECRET, SRS_CALLBACK_SECRET: randomBytes(16).toString('hex'), REDIS_URL: redisUrl, REDIS_KEY_PREFIX: 'bench-ingest',
    SRS_ADAPTER_PORT: String(port), RTMP_PORT: String(rtmpPort), MEDIA_HTTP_PORT: String(mediaPort), MEDIA_ROOT: join(dir, 'media'),
    DVR_ROOT: join(dir, 'dvr'), LOG_LEVEL: 'warn', RATE_LIMIT_MAX: '100000000',
  });
  await startSrsAdapter(config, { logStream: process.stdout });
}

async function usageOf(pid: number): Promise<{ cpu: number; memory: number }> {
  const children = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
  const stats = (await pidusage([pid, ...children] as unknown as number)) as unknown as Record<string, { cpu: number; memory: number }>;
  let cpu = 0;
  let memory = 0;
  for (const stat of Object.values(stats)) {
    cpu += stat.cpu;
    memory += stat.memory;
  }
  return { cpu, memory };
}

interface Level {
  streams: number;
  cpuPercent: number;
  cpuPerStream: number;
  rssMb: number;
  rssMbPerStream: number;
  framesSent: number;
  framesLost: number;
  lossPercent: number;
}

async function startPair(ctx: { api: string; token: string; clip: string }, name: string, publishers: Counted[], players: Counted[]): Promise<void> {
  const headers = { authorization: `Bearer ${ctx.token}`, 'content-type': 'application/json' };
  const created = (await fetch(`${ctx.api}/api/v1/streams`, {
    method: 'POST', headers, body: JSON.stringify({ name, reconnectWindowSeconds: 0 }),
  }).then((res) => res.json())) as { rtmpUrl: string; flvUrl: string; streamId: string };
  publishers.push(new Counted(['-re', '-stream_loop', '-1', '-i', ctx.clip, '-c', 'copy', '-f', 'flv', created.rtmpUrl]));
  await waitFor(async () => {
    const stream = (await fetch(`${ctx.api}/api/v1/streams/${created.streamId}`, { headers }).then((res) => res.json())) as { state: string };
    return stream.state === 'live';
  }, { timeoutMs: 30000, what: `${name} live` });
  players.push(new Counted(['-i', created.flvUrl, '-c', 'copy', '-f', 'null', '-']));
}

async function runLevel(count: number, windowSeconds: number, ctx: { api: string; token: string; clip: string; pid: number; media: string }): Promise<Level> {
  const publishers: Counted[] = [];
  const players: Counted[] = [];
  try {
    // Start in batches of 10 so a level comes up in seconds instead of one stream at a time.
    for (let first = 0; first < count; first += 10) {
      const batch = Array.from({ length: Math.min(10, count - first) }, (_, offset) => first + offset);
      await Promise.all(batch.map((index) => startPair(ctx, `bench-${count}-${index}`, publishers, players)));
    }
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const sentBefore = publishers.map((item) => item.frames);
    const receivedBefore = players.map((item) => item.frames);
    const samples: { cpu: number; memory: number }[] = [];
    for (let second = 0; second < windowSeconds; second += 1) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      samples.push(await usageOf(ctx.pid));
    }
    const sent = publishers.reduce((sum, item, index) => sum + item.frames - sentBefore[index], 0);
    const received = players.reduce((sum, item, index) => sum + item.frames - receivedBefore[index], 0);
    const cpu = samples.reduce((sum, item) => sum + item.cpu, 0) / samples.length;
    const memory = Math.max(...samples.map((item) => item.memory));
    const lost = Math.max(0, sent - received);
    return {
      streams: count, cpuPercent: Math.round(cpu), cpuPerStream: Number((cpu / count).toFixed(2)),
      rssMb: Math.round(memory / 1048576), rssMbPerStream: Number((memory / count / 1048576).toFixed(1)), framesSent: sent, framesLost: lost,
      lossPercent: sent ? Number(((100 * lost) / sent).toFixed(2)) : 100,
    };
  } finally {
    await Promise.all([...players, ...publishers].map((item) => stopProcess(item.child, 2000)));
  }
}

async function main(): Promise<void> {
  const serveAt = process.argv.indexOf('--serve');
  if (serveAt > 0) {
    process.once('SIGTERM', () => process.exit(0));
    const [port, redisUrl, dir, rtmp, media] = process.argv.slice(serveAt + 1);
    await serveAdapter(Number(port), redisUrl, dir, Number(rtmp), Number(media));
    return;
  }
  const windowSeconds = Number(option('window', '15'));
  const levels = option('levels', '1,10,25,50,75,100').split(',').map(Number);

  const dir = mkdtempSync(join(tmpdir(), 'bench-ingest-'));
  const clip = join(dir, 'clip.flv');
  const made = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine',
    '-t', '20', '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '700k', '-g', '25', '-c:a', 'aac', '-b:a', '64k', clip]);
  if (made.status !== 0) throw new Error('ffmpeg failed to make the test clip');

  const redisPort = await freePort();
  const redisPid = spawnSync('bash', ['scripts/redis-up.sh', String(redisPort), join(dir, 'redis')], { encoding: 'utf8' }).stdout.trim();
  const [port, rtmpPort, mediaPort] = [await freePort(), await freePort(), await freePort()];
  const adapter = spawn(process.execPath, [...process.execArgv, __filename, '--serve', String(port), `redis://127.0.0.1:${redisPort}`, dir, String(rtmpPort), String(mediaPort)], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });

  const results: Level[] = [];
  const started = Date.now();
  try {
    const api = `http://127.0.0.1:${port}`;
    await waitFor(() => fetch(`${api}/ready`).then((res) => res.ok), { timeoutMs: 30000, what: 'adapter' });
    const token = await signServiceToken({ sub: 'bench', scope: ['admin'] }, { secret: JWT_SECRET, issuer: 'castplane', ttlSeconds: 3600 });
    for (const count of levels) {
      const level = await runLevel(count, windowSeconds, { api, token, clip, pid: adapter.pid ?? 0, media: `http://127.0.0.1:${mediaPort}` });
      results.push(level);
      console.error(JSON.stringify(level));
      // Degraded: more than 2 % of frames lost, or the machine's 2 cores nearly saturated.
      if (level.lossPercent > 2 || level.cpuPercent > 180 || Date.now() - started > 300000) break;
    }
  } finally {
    await stopProcess(adapter, 5000);
    if (redisPid) process.kill(Number(redisPid), 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }

  const baseline = results[0];
  console.log(JSON.stringify({ date: new Date().toISOString(), windowSeconds, results }, null, 2));
  console.log('\n| streams | adapter CPU % | CPU % per stream | vs 1 stream | RSS MB | RSS MB per stream | frames sent | lost | loss % |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const level of results) {
    const ratio = baseline.cpuPerStream ? (level.cpuPerStream / baseline.cpuPerStream).toFixed(2) : '-';
    console.log(`| ${level.streams} | ${level.cpuPercent} | ${level.cpuPerStream} | ${ratio} | ${level.rssMb} | ${level.rssMbPerStream} | ${level.framesSent} | ${level.framesLost} | ${level.lossPercent} |`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
