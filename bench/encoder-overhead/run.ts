// Wall time of one 720p/480p/360p HLS ladder from the same 1280x720p30 input, run by plain ffmpeg
// and as an encoder job (upload, probe, queue, worker, ffmpeg, completion), in the same run.
// Usage: npm run bench:encoder-overhead [-- --runs 3 --seconds 10]
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { Queue, QueueEvents } from 'bullmq';

import { bullConnectionOptions } from '@castplane/redis';
import { startOwnRedis, tempDir, testToken } from '@castplane/testing';

import { loadConfigFromEnv } from '../../apps/encoder/src/config';
import { probe } from '../../apps/encoder/src/clients/ffprobe.client';
import { transcodeArgs } from '../../apps/encoder/src/jobs/ladder.args';
import type { TranscodeJobData } from '../../apps/encoder/src/jobs/transcode.queue';
import { TRANSCODE_QUEUE } from '../../apps/encoder/src/jobs/transcode.queue';
import { DEFAULT_PROFILES } from '../../apps/encoder/src/schemas/profile.schema';
import { startEncoder } from '../../apps/encoder/src/service';
import { generateClip, median, runToExit } from '../encoder-capacity/media';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, seconds: { type: 'string', default: '10' } } });
const RUNS = Math.min(Math.max(Number(values.runs), 1), 10);
const SECONDS = Math.min(Math.max(Number(values.seconds), 2), 60);
const LADDER = ['720p', '480p', '360p'];

async function main(): Promise<void> {
  const work = tempDir('bench-encoder-overhead');
  const redis = await startOwnRedis();
  const input = await generateClip(join(work.path, 'input.mp4'), { seconds: SECONDS, width: 1280, height: 720, fps: 30 });
  const env = {
    NODE_ENV: 'test', LOG_LEVEL: 'error', HOST: '127.0.0.1', REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'bench-encoder',
    AUTH_JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0', ENCODER_API_PORT: '0', ENCODER_MONITORING_PORT: '0',
    MEDIA_ROOT: join(work.path, 'media'), ENCODER_WORKER_CONCURRENCY: '1',
  };
  const encoder = await startEncoder(loadConfigFromEnv(env));
  const token = await testToken(['admin'], { secret: env.AUTH_JWT_SECRET });
  const connection = bullConnectionOptions(redis.url) as never;
  const queue = new Queue(TRANSCODE_QUEUE, { connection, prefix: env.REDIS_KEY_PREFIX });
  const events = new QueueEvents(TRANSCODE_QUEUE, { connection, prefix: env.REDIS_KEY_PREFIX });
  await events.waitUntilReady();
  const plain: number[] = [];
  const job: number[] = [];
  try {
    for (let run = 0; run < RUNS; run += 1) {
      plain.push(await plainLadder(input, join(work.path, `plain-${run}`)));
      job.push(await jobLadder(encoder.ports.api, token, input, queue, events));
    }
  } finally {
    await Promise.all([events.close(), queue.close()]);
    await encoder.shutdown.run('bench');
    await redis.stop();
    work.cleanup();
  }
  report(plain, job);
}

// Same arguments the worker builds, minus the job around it.
async function plainLadder(input: string, outputRoot: string): Promise<number> {
  const source = await probe('ffprobe', input, 15000);
  const data: TranscodeJobData = {
    kind: 'vod', runId: 'plain', source: input, realtime: false, outputDir: 'out', rtmpPush: [],
    profiles: DEFAULT_PROFILES.filter((profile) => LADDER.includes(profile.id)), hls: { segmentSeconds: 2, playlistSize: 0 },
  };
  for (const profile of data.profiles) mkdirSync(join(outputRoot, 'out', profile.id), { recursive: true });
  const started = performance.now();
  await runToExit('ffmpeg', transcodeArgs(data, outputRoot, source));
  const elapsed = performance.now() - started;
  rmSync(outputRoot, { recursive: true, force: true });
  return elapsed;
}

// Completion is read from BullMQ's event stream, so the measurement adds no polling load.
async function jobLadder(port: number, token: string, input: string, queue: Queue, events: QueueEvents): Promise<number> {
  const form = new FormData();
  form.set('profiles', LADDER.join(','));
  form.set('file', new Blob([readFileSync(input)]), 'input.mp4');
  const started = performance.now();
  const res = await fetch(`http://127.0.0.1:${port}/api/encoder/jobs`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: form });
  const accepted = (await res.json()) as { jobId: string };
  const job = await queue.getJob(accepted.jobId);
  if (!job) throw new Error(`job ${accepted.jobId} was not queued: ${res.status}`);
  await job.waitUntilFinished(events, 300000);
  return performance.now() - started;
}

function report(plain: number[], job: number[]): void {
  const plainMs = median(plain);
  const jobMs = median(job);
  const lines = [
    `input: ${SECONDS} s of 1280x720p30 with AAC audio; ladder ${LADDER.join('/')}, libx264 veryfast, 2 s HLS segments; ${RUNS} runs each, interleaved`,
    `plain ffmpeg: median ${(plainMs / 1000).toFixed(2)} s wall (${(SECONDS / (plainMs / 1000)).toFixed(2)}x realtime), runs ${plain.map((ms) => (ms / 1000).toFixed(2)).join(', ')} s`,
    `through a job: median ${(jobMs / 1000).toFixed(2)} s wall (${(SECONDS / (jobMs / 1000)).toFixed(2)}x realtime), runs ${job.map((ms) => (ms / 1000).toFixed(2)).join(', ')} s`,
    `wall time ratio job/plain: ${(jobMs / plainMs).toFixed(3)} (target <= 1.05)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
