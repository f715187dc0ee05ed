import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { Queue } from 'bullmq';

import { eventQueueName } from '@castplane/contracts';
import { CommandClient, EventPublisher, bullConnectionOptions } from '@castplane/redis';
import { createLogger } from '@castplane/logging';
import { freePort, stopProcess, waitFor } from '@castplane/testing';

import type { Harness } from './encoder-harness';
import { isAlive, makeTestMedia, readText, startHarness, waitForJobState } from './encoder-harness';

const root = join(__dirname, '..', '..', '..');
// Short locks so a dead worker's job moves on within seconds.
const FAST_STALL = { ENCODER_LOCK_DURATION_MS: '4000', ENCODER_STALLED_INTERVAL_MS: '2000' };
const WORKERS = { ENCODER_WORKERS_ENABLED: 'true' };

async function activeJob(harness: Harness, jobId: string) {
  return waitFor(
    async () => {
      const res = await harness.api().get(`/api/encoder/jobs/${jobId}`);
      return res.body.state === 'active' && (res.body.progress?.outTimeSeconds ?? 0) > 0 ? res.body : undefined;
    },
    { timeoutMs: 60000, intervalMs: 250, what: `job ${jobId} running with progress` },
  );
}

async function runningPid(harness: Harness, jobId: string): Promise<number> {
  const job = await waitFor(
    async () => {
      const stats = await harness.monitoring().get('/api/encoder/stats');
      return stats.body.jobs?.find((entry: { jobId: string }) => entry.jobId === jobId);
    },
    { timeoutMs: 30000, what: 'the job in stats' },
  );
  return job.pid as number;
}

describe('encoder lifecycle', () => {
  const logger = createLogger({ service: 'test', level: 'error' });
  let api: Harness;
  let source: string;

  beforeAll(async () => {
    api = await startHarness('life', { ENCODER_WORKERS_ENABLED: 'false' });
    source = pathToFileURL(await makeTestMedia(api.mediaRoot, 'live.mp4', { seconds: 8, width: 426, height: 240 })).href;
  });

  afterAll(async () => {
    await api.stop();
  });

  describe('stream events', () => {
    let worker: Harness;
    let events: EventPublisher;
    let commands: CommandClient;
    const stream = { streamId: 's1', app: 'live', name: 'events-cam', clientId: 'c1', sessionId: 'session-1' };

    beforeAll(async () => {
      worker = await startHarness('life-worker', WORKERS, { env: api.env, mediaRoot: api.mediaRoot });
      const context = { redisUrl: api.env.REDIS_URL!, prefix: api.env.REDIS_KEY_PREFIX!, logger };
      events = new EventPublisher(context, 'srs-adapter');
      commands = new CommandClient(context);
      await api.api().post('/api/encoder/config').send({ streamKey: 'events-key-01', name: 'events-cam', source, profiles: ['240p'] }).expect(201);
    });

    afterAll(async () => {
      await Promise.all([events.close(), commands.close()]);
      await worker.stop();
    });

    it('starts one ladder per stream session', async () => {
      const armed = await commands.send('encoder', 'transcode.arm', { streamKey: 'events-key-01', app: 'live', name: 'events-cam', profiles: ['240p'], record: false });
      expect(armed.state).toBe('armed');

      await events.publish('stream.published', stream, 'evt-published-1');
      await events.publish('stream.published', stream, 'evt-published-1');
      await events.publish('stream.reconnected', stream, 'evt-reconnected-1');
      const status = await waitFor(
        async () => {
          const res = await api.api().get('/api/encoder/status').query({ streamKey: 'events-key-01' });
          return res.body.job?.state === 'active' ? res.body : undefined;
        },
        { timeoutMs: 60000, what: 'the armed ladder running' },
      );
      const jobs = await api.api().get('/api/encoder/jobs').query({ streamKey: 'events-key-01' });

      expect(armed.masterPlaylistPath).toBe(`${status.keyId}/${status.job.runId}/master.m3u8`);
      expect(jobs.body.items).toHaveLength(1);

      await events.publish('stream.ended', { ...stream, reason: 'unpublished' }, 'evt-ended-1');
      const job = await waitForJobState(api, status.job.id, ['completed', 'failed']);

      expect(job.state).toBe('completed');
      expect(job.stopped).toBe(true);
      expect(job.masterPlaylistPath).toBe(armed.masterPlaylistPath);
    });

    it('retries an unreachable live source, then fails', async () => {
      const recording = await commands.send('encoder', 'record.start', { app: 'live', name: 'offline-cam', label: 'Room 1 / take 2' });
      const job = await waitForJobState(api, recording.jobId, ['failed'], 60000);
      const stop = await commands.send('encoder', 'record.stop', { jobId: recording.jobId }).catch((error: unknown) => error);

      expect(recording.outputPath).toMatch(/^recordings\/live\/offline-cam\/room-1-take-2-[a-z0-9-]+\.mp4$/);
      expect(job.error).toMatch(/cannot read the source/);
      expect(job.attemptsMade).toBe(3);
      expect(stop).toMatchObject({ code: 'failed_precondition' });
    });

    it('publishes transcode events for the orchestrator', async () => {
      const queue = new Queue(eventQueueName('orchestrator'), { connection: bullConnectionOptions(api.env.REDIS_URL!) as never, prefix: api.env.REDIS_KEY_PREFIX });
      const published = await waitFor(
        async () => {
          const jobs = await queue.getJobs(['waiting', 'delayed', 'prioritized']);
          const types = jobs.map((job) => job.data.type as string);
          return types.includes('transcode.started') && types.includes('transcode.completed') ? jobs : undefined;
        },
        { timeoutMs: 20000, what: 'transcode events' },
      );
      await queue.close();

      const completed = published.find((job) => job.data.type === 'transcode.completed')!;
      expect(completed.data.data).toMatchObject({ app: 'live', name: 'events-cam' });
      expect(JSON.stringify(published.map((job) => job.data))).not.toContain('events-key-01');
    });
  });

  describe('shutdown with a running job', () => {
    it('kills ffmpeg and hands the job back to the queue', async () => {
      const worker = await startHarness('life-shutdown', WORKERS, { env: api.env, mediaRoot: api.mediaRoot });
      await api.api().post('/api/encoder/config').send({ streamKey: 'shutdown-key-1', name: 'shutdown-cam', source, profiles: ['240p'] }).expect(201);
      const start = await api.api().post('/api/encoder/start').send({ streamKey: 'shutdown-key-1' });
      await activeJob(api, start.body.jobId);
      const pid = await runningPid(worker, start.body.jobId);

      await worker.stop();
      const job = await waitForJobState(api, start.body.jobId, ['waiting'], 20000);

      expect(isAlive(pid)).toBe(false);
      expect(job.state).toBe('waiting');
      await api.api().post('/api/encoder/stop').send({ streamKey: 'shutdown-key-1' }).expect(200);
    });
  });

  describe('worker killed mid-job', () => {
    let child: ChildProcess | undefined;
    let survivor: Harness | undefined;

    beforeAll(() => {
      execFileSync('node', ['scripts/build.mjs', 'encoder'], { cwd: root, stdio: 'ignore' });
    });

    afterAll(async () => {
      if (child) await stopProcess(child);
      await survivor?.stop();
    });

    it('leaves a stalled job that another worker completes', async () => {
      const monitoringPort = await freePort();
      const env = { ...api.env, ...WORKERS, ...FAST_STALL, ENCODER_API_PORT: '0', ENCODER_MONITORING_PORT: String(monitoringPort), MEDIA_ROOT: api.mediaRoot, ENCODER_WORKER_CONCURRENCY: '1' };
      child = spawn('node', [join(root, 'dist/apps/encoder/main.js')], { env, stdio: 'ignore' });
      await api.api().post('/api/encoder/config').send({ streamKey: 'failover-key-1', name: 'failover-cam', source, profiles: ['240p'] }).expect(201);
      const start = await api.api().post('/api/encoder/start').send({ streamKey: 'failover-key-1' });
      await activeJob(api, start.body.jobId);
      const stats = await api.monitoring().get('/api/encoder/stats');
      const childStats = await fetch(`http://127.0.0.1:${monitoringPort}/api/encoder/stats`, { headers: { Authorization: `Bearer ${api.token}` } }).then((res) => res.json() as Promise<{ jobs: { pid: number }[] }>);
      const ffmpegPid = childStats.jobs[0].pid;
      expect(stats.body.jobs).toEqual([]);

      // The machine dies: the worker and its ffmpeg child go at once.
      child.kill('SIGKILL');
      process.kill(ffmpegPid, 'SIGKILL');
      survivor = await startHarness('life-survivor', { ...WORKERS, ...FAST_STALL }, { env: api.env, mediaRoot: api.mediaRoot });
      const job = await waitForJobState(api, start.body.jobId, ['completed', 'failed'], 90000);

      expect(job.state).toBe('completed');
      expect(job.stopped).toBe(false);
      expect(readText(join(api.mediaRoot, job.outputs[1]))).toContain('#EXT-X-ENDLIST');
    });

    it('keeps a stop sent while no worker runs', async () => {
      // No other worker may take the job: the earlier test's survivor goes first.
      await survivor?.stop();
      survivor = undefined;
      const monitoringPort = await freePort();
      const env = { ...api.env, ...WORKERS, ...FAST_STALL, ENCODER_API_PORT: '0', ENCODER_MONITORING_PORT: String(monitoringPort), MEDIA_ROOT: api.mediaRoot, ENCODER_WORKER_CONCURRENCY: '1' };
      const worker = spawn('node', [join(root, 'dist/apps/encoder/main.js')], { env, stdio: 'ignore' });
      let replacement: Harness | undefined;
      try {
        await api.api().post('/api/encoder/config').send({ streamKey: 'lost-stop-key-1', name: 'lost-stop-cam', source, profiles: ['240p'] }).expect(201);
        const start = await api.api().post('/api/encoder/start').send({ streamKey: 'lost-stop-key-1' });
        await activeJob(api, start.body.jobId);
        const childStats = await fetch(`http://127.0.0.1:${monitoringPort}/api/encoder/stats`, { headers: { Authorization: `Bearer ${api.token}` } }).then((res) => res.json() as Promise<{ jobs: { pid: number }[] }>);
        worker.kill('SIGKILL');
        process.kill(childStats.jobs[0].pid, 'SIGKILL');
        await waitFor(() => worker.exitCode !== null || worker.signalCode !== null, { what: 'worker gone' });

        await api.api().post('/api/encoder/stop').send({ streamKey: 'lost-stop-key-1' }).expect(200);
        replacement = await startHarness('life-replacement', { ...WORKERS, ...FAST_STALL }, { env: api.env, mediaRoot: api.mediaRoot });
        const job = await waitForJobState(api, start.body.jobId, ['completed', 'failed'], 90000);

        expect(job.state).toBe('completed');
        expect(job.stopped).toBe(true);
      } finally {
        await stopProcess(worker);
        await replacement?.stop();
      }
    });
  });
});
