// How many live 720p/480p/360p ladders this machine keeps at real-time speed through the encoder,
// and the CPU each costs, against one plain ffmpeg ladder in the same run. Live sources are a
// 1280x720p30 file read at its native rate (`-re`), the way the encoder runs a file source.
// Usage: npm run bench:encoder-capacity [-- --max 3 --warmup 4 --sample 10]
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import pidusage from 'pidusage';

import { startOwnRedis, tempDir, testToken, waitFor } from '@castplane/testing';

import { runFfmpeg } from '../../apps/encoder/src/clients/ffmpeg.runner';
import { probe } from '../../apps/encoder/src/clients/ffprobe.client';
import { loadConfigFromEnv } from '../../apps/encoder/src/config';
import { transcodeArgs } from '../../apps/encoder/src/jobs/ladder.args';
import type { TranscodeJobData } from '../../apps/encoder/src/jobs/transcode.queue';
import { DEFAULT_PROFILES } from '../../apps/encoder/src/schemas/profile.schema';
import { startEncoder } from '../../apps/encoder/src/service';
import { generateClip, median } from './media';

const { values } = parseArgs({
  options: { max: { type: 'string', default: '3' }, warmup: { type: 'string', default: '4' }, sample: { type: 'string', default: '10' } },
});
const MAX = Math.min(Math.max(Number(values.max), 1), 8);
const WARMUP = Math.min(Math.max(Number(values.warmup), 1), 30);
const SAMPLE = Math.min(Math.max(Number(values.sample), 3), 60);
const LADDER = ['720p', '480p', '360p'];
// ffmpeg reports a real-time input as about 1.0x; this allows for its rounding.
const REALTIME_SPEED = 0.98;

interface Level {
  ladders: number;
  minSpeed: number;
  cpuPerLadder: number;
  realtime: boolean;
}

async function main(): Promise<void> {
  const work = tempDir('bench-encoder-capacity');
  const redis = await startOwnRedis();
  const mediaRoot = join(work.path, 'media');
  mkdirSync(mediaRoot, { recursive: true });
  const input = await generateClip(join(mediaRoot, 'input.mp4'), { seconds: WARMUP + SAMPLE + 10, width: 1280, height: 720, fps: 30 });
  const env = {
    NODE_ENV: 'test', LOG_LEVEL: 'error', HOST: '127.0.0.1', REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'bench-capacity',
    AUTH_JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0', ENCODER_API_PORT: '0', ENCODER_MONITORING_PORT: '0',
    MEDIA_ROOT: mediaRoot, ENCODER_WORKER_CONCURRENCY: String(MAX),
  };
  const encoder = await startEncoder(loadConfigFromEnv(env));
  const token = await testToken(['admin'], { secret: env.AUTH_JWT_SECRET });
  const client = api(encoder.ports.api, encoder.ports.monitoring, token);
  const levels: Level[] = [];
  let baseline: { speed: number; cpu: number } | undefined;
  try {
    baseline = await plainLadder(input, join(work.path, 'plain'));
    for (let ladders = 1; ladders <= MAX; ladders += 1) {
      const level = await measureLevel(client, pathToFileURL(input).href, ladders);
      levels.push(level);
      if (!level.realtime) break;
    }
  } finally {
    await encoder.shutdown.run('bench');
    await redis.stop();
    work.cleanup();
  }
  report(baseline!, levels);
}

function api(apiPort: number, monitoringPort: number, token: string) {
  const call = async (port: number, method: string, path: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<any>;
  };
  return {
    post: (path: string, body: unknown) => call(apiPort, 'POST', path, body),
    stats: () => call(monitoringPort, 'GET', '/api/encoder/stats'),
  };
}

async function measureLevel(client: ReturnType<typeof api>, source: string, ladders: number): Promise<Level> {
  const keys = Array.from({ length: ladders }, (_, index) => `bench-capacity-${ladders}-${index}`);
  for (const [index, streamKey] of keys.entries()) {
    await client.post('/api/encoder/config', { streamKey, name: `cap${ladders}x${index}`, source, profiles: LADDER });
    await client.post('/api/encoder/start', { streamKey });
  }
  await waitFor(async () => (await client.stats()).jobs.length === ladders, { timeoutMs: 60000, what: `${ladders} running ladders` });
  await sleep(WARMUP * 1000);
  const speeds = new Map<string, number[]>();
  const cpu: number[] = [];
  for (let second = 0; second < SAMPLE; second += 1) {
    await sleep(1000);
    const stats = await client.stats();
    let total = 0;
    for (const job of stats.jobs as { jobId: string; speed: number | null; cpuPercent: number | null }[]) {
      speeds.set(job.jobId, [...(speeds.get(job.jobId) ?? []), job.speed ?? 0]);
      total += job.cpuPercent ?? 0;
    }
    cpu.push(total);
  }
  for (const streamKey of keys) await client.post('/api/encoder/stop', { streamKey });
  await waitFor(async () => (await client.stats()).jobs.length === 0, { timeoutMs: 60000, what: 'ladders stopped' });
  const minSpeed = Math.min(...[...speeds.values()].map((samples) => median(samples)));
  return { ladders, minSpeed, cpuPerLadder: median(cpu) / ladders, realtime: minSpeed >= REALTIME_SPEED };
}

// One ffmpeg ladder with the same arguments, outside the encoder, for the CPU baseline.
async function plainLadder(input: string, outputRoot: string): Promise<{ speed: number; cpu: number }> {
  const profiles = DEFAULT_PROFILES.filter((profile) => LADDER.includes(profile.id));
  const data: TranscodeJobData = {
    kind: 'live', runId: 'plain', source: input, realtime: true, outputDir: 'out', rtmpPush: [], profiles, hls: { segmentSeconds: 2, playlistSize: 6 },
  };
  for (const profile of profiles) mkdirSync(join(outputRoot, 'out', profile.id), { recursive: true });
  let speed = 0;
  const run = runFfmpeg({ ffmpegPath: 'ffmpeg', args: transcodeArgs(data, outputRoot, await probe('ffprobe', input, 15000)), onProgress: (progress) => (speed = progress.speed) });
  await sleep(WARMUP * 1000);
  await pidusage(run.pid);
  const speeds: number[] = [];
  const cpu: number[] = [];
  for (let second = 0; second < SAMPLE; second += 1) {
    await sleep(1000);
    speeds.push(speed);
    cpu.push((await pidusage(run.pid)).cpu);
  }
  await run.stop(3000);
  return { speed: median(speeds), cpu: median(cpu) };
}

function report(baseline: { speed: number; cpu: number }, levels: Level[]): void {
  const passing = levels.filter((level) => level.realtime).map((level) => level.ladders);
  const lines = [
    `ladder ${LADDER.join('/')} from 1280x720p30 read at native rate, libx264 veryfast; warmup ${WARMUP} s, sample ${SAMPLE} s per level`,
    `plain ffmpeg, one ladder: speed ${baseline.speed.toFixed(2)}x, CPU ${baseline.cpu.toFixed(0)} % of one core`,
    '| ladders | slowest ladder speed | CPU per ladder (% of one core) | holds real time |',
    '| --- | --- | --- | --- |',
    ...levels.map((level) => `| ${level.ladders} | ${level.minSpeed.toFixed(2)}x | ${level.cpuPerLadder.toFixed(0)} | ${level.realtime ? 'yes' : 'no'} |`),
    `ladders held at >= ${REALTIME_SPEED}x: ${passing.length > 0 ? Math.max(...passing) : 0}`,
    levels[0] ? `CPU per ladder ratio, encoder job (1 ladder) / plain ffmpeg: ${(levels[0].cpuPerLadder / baseline.cpu).toFixed(2)}` : 'no level measured',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
