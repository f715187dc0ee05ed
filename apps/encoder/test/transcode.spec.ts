import { randomBytes } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { ffprobe, waitFor } from '@castplane/testing';

import type { Harness } from './encoder-harness';
import { TINY_PROFILE, isAlive, makeTestMedia, readText, segmentsOf, startHarness, waitForJobState } from './encoder-harness';


describe('encoder transcode jobs', () => {
  let harness: Harness;
  let clip: string;

  beforeAll(async () => {
    harness = await startHarness('jobs', { ENCODER_MAX_UPLOAD_BYTES: String(3 * 1024 * 1024) });
    clip = await makeTestMedia(harness.mediaRoot, 'clip.mp4', { seconds: 6 });
    await harness.api().post('/api/encoder/profiles').send(TINY_PROFILE).expect(201);
  });

  afterAll(async () => {
    await harness.stop();
  });

  describe('POST /api/encoder/jobs (upload)', () => {
    let job: Record<string, any>;

    beforeAll(async () => {
      const res = await harness.api().post('/api/encoder/jobs').field('profiles', '360p,240p,144p').attach('file', clip);
      expect(res.status).toBe(202);
      job = await waitForJobState(harness, res.body.jobId, ['completed', 'failed']);
    });

    it('completes with progress recorded', () => {
      expect(job.state).toBe('completed');
      expect(job.progress.outTimeSeconds).toBeGreaterThan(0);
      expect(job.progress.speed).toBeGreaterThan(0);
      expect(job.progress.fps).toBeGreaterThanOrEqual(0);
      expect(job.outputs).toContain(job.masterPlaylistPath);
    });

    it('writes a master playlist listing every variant with its attributes', () => {
      const master = readText(join(harness.mediaRoot, job.masterPlaylistPath));
      const variants = master.split('\n').filter((line) => line.startsWith('#EXT-X-STREAM-INF'));

      expect(variants).toHaveLength(3);
      for (const [resolution, uri] of [['640x360', '360p/index.m3u8'], ['426x240', '240p/index.m3u8'], ['256x144', '144p/index.m3u8']]) {
        const line = variants.find((variant) => variant.includes(`RESOLUTION=${resolution}`));
        expect(line).toMatch(/BANDWIDTH=\d+/);
        expect(line).toMatch(/CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"/);
        expect(master).toContain(uri);
      }
    });

    it('writes segments that decode at each profile resolution', async () => {
      const dir = join(harness.mediaRoot, job.masterPlaylistPath, '..');
      for (const [id, width, height] of [['360p', 640, 360], ['240p', 426, 240], ['144p', 256, 144]] as const) {
        const playlist = readText(join(dir, id, 'index.m3u8'));
        const segments = segmentsOf(join(dir, id));
        expect(playlist).toContain('#EXT-X-ENDLIST');
        expect(segments.length).toBeGreaterThanOrEqual(2);
        for (const segment of segments) {
          const probe = await ffprobe(join(dir, id, segment));
          const video = probe.streams.find((stream) => stream.codec_type === 'video');
          expect(video).toMatchObject({ codec_name: 'h264', width, height });
          expect(probe.streams.some((stream) => stream.codec_type === 'audio')).toBe(true);
        }
      }
    });

    it('removes the uploaded source once the job has ended', async () => {
      const leftovers = await waitFor(() => readdirSync(join(harness.mediaRoot, '.uploads')).length === 0, { timeoutMs: 10000, what: 'upload removed' });

      expect(leftovers).toBe(true);
    });

    it('lists the job by state', async () => {
      const res = await harness.api().get('/api/encoder/jobs').query({ state: 'completed' });

      expect(res.status).toBe(200);
      expect(res.body.items.map((item: { id: string }) => item.id)).toContain(job.id);
    });
  });

  describe('upload rejections', () => {
    it('rejects a file that is not media with 415', async () => {
      const res = await harness.api().post('/api/encoder/jobs').attach('file', Buffer.from('just some text, not a video\n'.repeat(50)), 'notes.mp4');

      expect(res.status).toBe(415);
      expect(res.body.details[0].field).toBe('body.file');
    });

    it('rejects a file above the size limit with 413', async () => {
      const res = await harness.api().post('/api/encoder/jobs').attach('file', randomBytes(4 * 1024 * 1024), 'big.mp4');

      expect(res.status).toBe(413);
    });

    it('rejects a ladder above the source with 422', async () => {
      const res = await harness.api().post('/api/encoder/jobs').field('profiles', '720p,360p').attach('file', clip);

      expect(res.status).toBe(422);
      expect(res.body.details[0].message).toContain('720p');
    });

    it.each([
      ['segmentSeconds', '-1'],
      ['segmentSeconds', 'abc'],
      ['profiles', 'no such profile!'],
    ])('removes the uploaded file when %s=%s is rejected with 400', async (field, value) => {
      const uploads = join(harness.mediaRoot, '.uploads');
      const before = readdirSync(uploads).length;

      const res = await harness.api().post('/api/encoder/jobs').field(field, value).attach('file', clip);

      expect(res.status).toBe(400);
      expect(res.body.details[0].field).toMatch(new RegExp(`^body\\.${field}\\b`));
      await waitFor(() => readdirSync(uploads).length === before, { timeoutMs: 10000, what: 'rejected upload removed' });
      expect(readdirSync(uploads)).toHaveLength(before);
    });

    it('rejects an upload without a file with 400', async () => {
      const res = await harness.api().post('/api/encoder/jobs').field('profiles', '360p');

      expect(res.status).toBe(400);
      expect(res.body.details[0].field).toBe('body.file');
    });
  });

  describe('bad sources', () => {
    it('fail on the first attempt with a clear error', async () => {
      const missing = pathToFileURL(join(harness.mediaRoot, 'sources', 'missing.mp4')).href;
      await harness.api().post('/api/encoder/config').send({ streamKey: 'bad-source-key', name: 'bad', source: missing, profiles: ['240p'] }).expect(201);

      const start = await harness.api().post('/api/encoder/start').send({ streamKey: 'bad-source-key' });
      const job = await waitForJobState(harness, start.body.jobId, ['failed']);

      expect(job.error).toMatch(/cannot read the source: .*No such file or directory/);
      expect(job.attemptsMade).toBe(1);
    });

    it('fail a file that is not media without retrying', async () => {
      const path = join(harness.mediaRoot, 'sources', 'garbage.mp4');
      writeFileSync(path, randomBytes(64 * 1024));
      await harness.api().post('/api/encoder/config').send({ streamKey: 'garbage-key', name: 'garbage', source: pathToFileURL(path).href, profiles: ['240p'] }).expect(201);

      const start = await harness.api().post('/api/encoder/start').send({ streamKey: 'garbage-key' });
      const job = await waitForJobState(harness, start.body.jobId, ['failed']);

      expect(job.error).toMatch(/cannot read the source/);
      expect(job.attemptsMade).toBe(1);
    });
  });

  describe('POST /api/encoder/jobs/:jobId/cancel', () => {
    it('kills ffmpeg within the grace period and marks the job cancelled', async () => {
      const long = await makeTestMedia(harness.mediaRoot, 'long.mp4', { seconds: 30, width: 426, height: 240 });
      await harness.api().post('/api/encoder/config').send({ streamKey: 'cancel-key-1', name: 'cancel', source: pathToFileURL(long).href, profiles: ['240p', '144p'] }).expect(201);
      const start = await harness.api().post('/api/encoder/start').send({ streamKey: 'cancel-key-1' });
      expect(start.body.state).toBe('running');

      const running = await waitFor(
        async () => {
          const stats = await harness.monitoring().get('/api/encoder/stats');
          return stats.body.jobs?.find((job: { jobId: string; outTimeSeconds: number | null }) => job.jobId === start.body.jobId && (job.outTimeSeconds ?? 0) > 0);
        },
        { timeoutMs: 60000, what: 'ffmpeg progress in stats' },
      );
      expect(isAlive(running.pid)).toBe(true);

      const cancel = await harness.api().post(`/api/encoder/jobs/${start.body.jobId}/cancel`);
      const job = await waitForJobState(harness, start.body.jobId, ['cancelled', 'failed', 'completed'], 30000);

      expect(cancel.status).toBe(202);
      expect(job.state).toBe('cancelled');
      expect(isAlive(running.pid)).toBe(false);
    });

    it('returns 409 for a job that has finished', async () => {
      const jobs = await harness.api().get('/api/encoder/jobs').query({ state: 'completed' });
      const res = await harness.api().post(`/api/encoder/jobs/${jobs.body.items[0].id}/cancel`);

      expect(res.status).toBe(409);
    });

    it('returns 404 for an unknown job', async () => {
      const res = await harness.api().post('/api/encoder/jobs/live-unknown/cancel');

      expect(res.status).toBe(404);
    });
  });

  describe('monitoring', () => {
    it('reports health with ffmpeg and its version', async () => {
      const res = await harness.monitoring().get('/api/encoder/health');

      expect(res.status).toBe(200);
      expect(res.body.ffmpeg.version).toMatch(/^ffmpeg version/);
      expect(res.body.redis.status).toBe('up');
      expect(res.body.workers.localRunning).toBe(true);
      expect(res.body.workers.connected).toBeGreaterThanOrEqual(1);
    });

    it('returns ffmpeg lines filtered by job', async () => {
      const jobs = await harness.api().get('/api/encoder/jobs').query({ state: 'failed' });
      const jobId = jobs.body.items[0].id;
      const res = await harness.monitoring().get('/api/encoder/logs').query({ jobId });

      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeGreaterThan(0);
      expect(res.body.items.every((entry: { jobId: string }) => entry.jobId === jobId)).toBe(true);
    });

    it('lists ffmpeg in the readiness checks', async () => {
      const res = await harness.api().get('/ready');

      expect(res.status).toBe(200);
      expect(res.body.checks.ffmpeg.status).toBe('up');
    });
  });
});
