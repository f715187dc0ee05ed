import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';

import { CommandClient, createQueue } from '@castplane/redis';
import { LogCapture, baseTestEnv, ffprobe, publishTestSource, tempDir, testToken, waitFor } from '@castplane/testing';

// The media server is the srs-adapter's embedded ingest, started in this process: the one case
// where an encoder test imports another app's start function.
import { loadConfigFromEnv as loadAdapterConfig } from '../../srs-adapter/src/config';
import { startSrsAdapter } from '../../srs-adapter/src/service';
import type { SrsAdapter } from '../../srs-adapter/src/service';
import { TRANSCODE_QUEUE } from '../src/jobs/transcode.queue';
import type { TranscodeJobData, TranscodeResult } from '../src/jobs/transcode.queue';
import type { Harness } from './encoder-harness';
import { TINY_PROFILE, segmentsOf, startHarness, waitForJobState } from './encoder-harness';


// A JWT anywhere in a text: three base64url parts, the first one a JSON header.
const JWT_TEXT = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/;

describe('encoder with a signed media-server stream', () => {
  const env = baseTestEnv('encsigned');
  const media = tempDir('encoder-signed');
  const dvr = tempDir('encoder-signed-dvr');
  const adapterLogs = new LogCapture();
  const children: ChildProcess[] = [];
  let adapter: SrsAdapter;
  let adapterApi: string;
  let adapterToken: string;
  let rtmpBase: string;
  let harness: Harness;

  async function adapterCall(method: string, path: string, body?: unknown) {
    const response = await fetch(`${adapterApi}${path}`, {
      method,
      headers: { authorization: `Bearer ${adapterToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  }

  function serviceTokenPlays(streamId: string): Record<string, unknown>[] {
    return adapterLogs.lines().filter((line) => line.msg === 'play allowed with a service token' && line.streamId === streamId);
  }

  beforeAll(async () => {
    // Both services share Redis, the key prefix (so stream events reach the encoder) and AUTH_JWT_SECRET.
    const adapterConfig = loadAdapterConfig({
      ...env,
      SRS_ADAPTER_PORT: '0', RTMP_PORT: '0', MEDIA_HTTP_PORT: '0', SRS_CALLBACK_SECRET: 'callback-secret-for-tests',
      MEDIA_ROOT: media.path, DVR_ROOT: dvr.path, LOG_LEVEL: 'info', HLS_SEGMENT_SECONDS: '1',
    });
    adapter = await startSrsAdapter(adapterConfig, { logStream: adapterLogs.stream });
    adapterApi = `http://127.0.0.1:${adapter.ports.api}`;
    adapterToken = await testToken(['admin']);
    rtmpBase = `rtmp://127.0.0.1:${adapter.ports.rtmp}`;
    await waitFor(async () => (await fetch(`${adapterApi}/ready`)).status === 200, { timeoutMs: 15000, what: 'adapter ready' });

    harness = await startHarness('signed', { MEDIA_RTMP_URL: rtmpBase, LOG_LEVEL: 'debug', ENCODER_JOB_ATTEMPTS: '2', ENCODER_WORKER_CONCURRENCY: '2' }, { env, mediaRoot: media.path });
    await harness.api().post('/api/encoder/profiles').send(TINY_PROFILE).expect(201);
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await harness?.stop();
    await adapter?.shutdown.run('test');
    media.cleanup();
    dvr.cleanup();
  });

  describe('when an armed key goes live', () => {
    let streamId: string;
    let jobId: string;
    let masterPlaylistPath: string;

    beforeAll(async () => {
      const created = await adapterCall('POST', '/api/v1/streams', { name: 'signed-ladder', playback: 'signed', reconnectWindowSeconds: 0 });
      expect(created.status).toBe(201);
      streamId = created.body.streamId;
      const config = { streamKey: 'sk_signed_ladder', app: 'live', name: 'signed-ladder', profiles: ['144p'], hls: { segmentSeconds: 1, playlistSize: 4 } };
      await harness.api().post('/api/encoder/config').send(config).expect(201);
      const armed = await harness.api().post('/api/encoder/start').send({ streamKey: config.streamKey });
      expect(armed.body.state).toBe('armed');
      masterPlaylistPath = armed.body.masterPlaylistPath;

      children.push(publishTestSource(created.body.rtmpUrl));
      const status = await waitFor(
        async () => {
          const res = await harness.api().get('/api/encoder/status').query({ streamKey: config.streamKey });
          return res.body.job?.id ? res.body : undefined;
        },
        { timeoutMs: 30000, what: 'the armed key to start a job' },
      );
      jobId = status.job.id;
    });

    afterAll(async () => {
      await harness.api().post('/api/encoder/stop').send({ streamKey: 'sk_signed_ladder' });
    });

    it('writes ladder segments from the signed stream', async () => {
      const dir = join(media.path, masterPlaylistPath, '..', '144p');
      const segments = await waitFor(
        () => {
          try {
            const found = segmentsOf(dir);
            return found.length > 0 ? found : undefined;
          } catch {
            return undefined;
          }
        },
        { timeoutMs: 60000, intervalMs: 250, what: 'the first ladder segment' },
      );
      const probe = await ffprobe(join(dir, segments[0]));

      expect(probe.streams.find((stream) => stream.codec_type === 'video')).toMatchObject({ codec_name: 'h264', width: 256, height: 144 });
    });

    it('records an MP4 from the signed stream', async () => {
      const commands = new CommandClient({ redisUrl: env.REDIS_URL!, prefix: env.REDIS_KEY_PREFIX!, logger: adapter.logger });
      try {
        const recording = await commands.send('encoder', 'record.start', { app: 'live', name: 'signed-ladder', label: 'signed take' });
        await waitFor(
          async () => {
            const res = await harness.api().get(`/api/encoder/jobs/${recording.jobId}`);
            return res.body.state === 'active' && (res.body.progress?.outTimeSeconds ?? 0) >= 2;
          },
          { timeoutMs: 60000, intervalMs: 250, what: 'the recording to pass 2 s' },
        );
        await commands.send('encoder', 'record.stop', { jobId: recording.jobId });
        const job = await waitForJobState(harness, recording.jobId, ['completed', 'failed'], 60000);
        const probe = await ffprobe(join(media.path, recording.outputPath));

        expect(job.state).toBe('completed');
        expect(probe.streams.some((stream) => stream.codec_type === 'video')).toBe(true);
      } finally {
        await commands.close();
      }
    });

    it('plays the stream with an encoder service token', () => {
      const plays = serviceTokenPlays(streamId);

      expect(plays.length).toBeGreaterThanOrEqual(2);
      expect(plays.every((line) => line.subject === 'encoder')).toBe(true);
    });

    it('hides the token from jobs and logs', async () => {
      const view = await harness.api().get(`/api/encoder/jobs/${jobId}`);
      const logs = await harness.monitoring().get('/api/encoder/logs').query({ limit: 1000 });
      const queue = createQueue<TranscodeJobData, TranscodeResult>({ redisUrl: env.REDIS_URL!, prefix: env.REDIS_KEY_PREFIX!, logger: adapter.logger }, TRANSCODE_QUEUE);
      const job = await queue.getJob(jobId);
      await queue.close();

      expect(view.body.state).toBe('active');
      expect(JSON.stringify(view.body)).not.toMatch(JWT_TEXT);
      expect(JSON.stringify(job?.data)).not.toMatch(JWT_TEXT);
      expect(job?.data.source).toBe(`${rtmpBase}/live/signed-ladder`);
      expect(JSON.stringify(logs.body)).not.toMatch(JWT_TEXT);
      expect(harness.logs.output).not.toMatch(JWT_TEXT);
      expect(adapterLogs.output).not.toMatch(JWT_TEXT);
    });
  });

  describe('when the media server denies the pull', () => {
    let job: Record<string, any>;

    beforeAll(async () => {
      // No stream of this name exists, so the play is denied and ffprobe prints the source URL.
      const source = `${rtmpBase}/live/no-such-stream?quality=high`;
      const config = { streamKey: 'sk_signed_missing', app: 'live', name: 'no-such-stream', source, profiles: ['144p'] };
      await harness.api().post('/api/encoder/config').send(config).expect(201);
      const started = await harness.api().post('/api/encoder/start').send({ streamKey: config.streamKey });
      expect(started.status).toBe(202);
      job = await waitForJobState(harness, started.body.jobId, ['failed'], 60000);
    });

    it('fails with the token redacted from the error', () => {
      expect(job.error).toMatch(/cannot read the source/);
      expect(job.error).toContain('/live/no-such-stream?quality=high&token=[redacted]');
      expect(job.error).not.toMatch(JWT_TEXT);
    });

    it('keeps the token out of ffmpeg output and logs', async () => {
      const logs = await harness.monitoring().get('/api/encoder/logs').query({ jobId: job.id, limit: 1000 });

      expect(logs.body.items.length).toBeGreaterThan(0);
      expect(JSON.stringify(logs.body)).not.toMatch(JWT_TEXT);
      expect(harness.logs.output).not.toMatch(JWT_TEXT);
      expect(adapterLogs.lines().some((line) => line.msg === 'on_play denied' && line.reason === 'unknown_stream')).toBe(true);
    });
  });
});
