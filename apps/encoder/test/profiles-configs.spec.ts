import { CommandClient } from '@castplane/redis';
import { createLogger } from '@castplane/logging';

import { keyIdOf } from '../src/services/redis-keys';
import type { Harness } from './encoder-harness';
import { startHarness } from './encoder-harness';

const STREAM_KEY = 'sk_live_5f2b9c1d7e3a4b60';
const profileBody = {
  id: 'mobile-540',
  name: '540p mobile',
  width: 960,
  height: 540,
  fps: 30,
  videoBitrateKbps: 1800,
  maxrateKbps: 1900,
  bufsizeKbps: 2700,
};

describe('encoder profiles and configs API', () => {
  let harness: Harness;

  beforeAll(async () => {
    harness = await startHarness('api', { ENCODER_WORKERS_ENABLED: 'false', LOG_LEVEL: 'info' });
  });

  afterAll(async () => {
    await harness.stop();
  });

  describe('GET /api/encoder/profiles', () => {
    it('lists the seeded default ladder', async () => {
      const res = await harness.api().get('/api/encoder/profiles');

      expect(res.status).toBe(200);
      expect(res.body.items.map((profile: { id: string }) => profile.id)).toEqual(['1080p', '720p', '480p', '360p', '240p']);
    });

    it('rejects a request without credentials', async () => {
      const res = await harness.api().get('/api/encoder/profiles').set('Authorization', '');

      expect(res.status).toBe(401);
    });
  });

  describe('POST /api/encoder/profiles', () => {
    it('creates a profile with defaults filled in', async () => {
      const res = await harness.api().post('/api/encoder/profiles').send(profileBody);

      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ id: 'mobile-540', codec: 'h264', preset: 'veryfast', keyframeIntervalSeconds: 2 });
    });

    it('rejects a duplicate id with 409', async () => {
      const res = await harness.api().post('/api/encoder/profiles').send(profileBody);

      expect(res.status).toBe(409);
      expect(res.body.details[0].field).toBe('body.id');
    });

    it('names every invalid field', async () => {
      const res = await harness.api().post('/api/encoder/profiles').send({ ...profileBody, id: 'Bad Id', width: 961, maxrateKbps: 100, name: '' });
      const fields = res.body.details.map((detail: { field: string }) => detail.field);

      expect(res.status).toBe(400);
      expect(fields).toEqual(expect.arrayContaining(['body.id', 'body.width', 'body.maxrateKbps', 'body.name']));
    });
  });

  describe('PUT and DELETE /api/encoder/profiles/:profileId', () => {
    it('replaces a profile', async () => {
      const { id, ...fields } = profileBody;
      const res = await harness.api().put(`/api/encoder/profiles/${id}`).send({ ...fields, videoBitrateKbps: 1500 });

      expect(res.status).toBe(200);
      expect(res.body.videoBitrateKbps).toBe(1500);
    });

    it('returns 404 for an unknown profile', async () => {
      const res = await harness.api().delete('/api/encoder/profiles/nope');

      expect(res.status).toBe(404);
    });
  });

  describe('POST /api/encoder/config', () => {
    const config = { streamKey: STREAM_KEY, app: 'live', name: 'cam1', profiles: ['720p', '360p'] };

    it('rejects unknown profiles with the field at fault', async () => {
      const res = await harness.api().post('/api/encoder/config').send({ ...config, profiles: ['720p', 'ghost'] });

      expect(res.status).toBe(400);
      expect(res.body.details[0]).toMatchObject({ field: 'body.profiles' });
      expect(res.body.message).toContain('ghost');
    });

    it('rejects a ladder above the published resolution with 422', async () => {
      const publish = { width: 854, height: 480, videoBitrateKbps: 2000 };
      const res = await harness.api().post('/api/encoder/config').send({ ...config, publish });

      expect(res.status).toBe(422);
      expect(res.body.details[0].message).toContain('720p');
    });

    it('rejects impossible values field by field', async () => {
      const res = await harness.api().post('/api/encoder/config').send({ ...config, name: 'a b', hls: { segmentSeconds: 0, playlistSize: 1 }, profiles: [] });
      const fields = res.body.details.map((detail: { field: string }) => detail.field);

      expect(res.status).toBe(400);
      expect(fields).toEqual(expect.arrayContaining(['body.name', 'body.hls.segmentSeconds', 'body.hls.playlistSize', 'body.profiles']));
    });

    it('rejects a file source outside the media root', async () => {
      const res = await harness.api().post('/api/encoder/config').send({ ...config, source: 'file:///etc/passwd' });

      expect(res.status).toBe(400);
      expect(res.body.details[0].field).toBe('body.source');
    });

    it('creates a config with HLS defaults', async () => {
      const res = await harness.api().post('/api/encoder/config').send({ ...config, profiles: ['720p', 'mobile-540'] });

      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ keyId: keyIdOf(STREAM_KEY), hls: { segmentSeconds: 2, playlistSize: 6 } });
    });

    it('rejects a second config for the same key with 409', async () => {
      const res = await harness.api().post('/api/encoder/config').send(config);

      expect(res.status).toBe(409);
    });
  });

  describe('GET, PUT and DELETE /api/encoder/config/:streamKey', () => {
    it('reads the config of a key', async () => {
      const res = await harness.api().get(`/api/encoder/config/${STREAM_KEY}`);

      expect(res.status).toBe(200);
      expect(res.body.profiles).toEqual(['720p', 'mobile-540']);
    });

    it('returns 404 without echoing an unknown key', async () => {
      const res = await harness.api().get('/api/encoder/config/unknown-key-123');

      expect(res.status).toBe(404);
      expect(JSON.stringify(res.body)).not.toContain('unknown-key-123');
    });

    it('refuses to delete a profile a config uses', async () => {
      const res = await harness.api().delete('/api/encoder/profiles/mobile-540');

      expect(res.status).toBe(409);
      expect(res.body.reason ?? res.body.code).toBeDefined();
      expect((await harness.api().get('/api/encoder/profiles')).body.items.map((p: { id: string }) => p.id)).toContain('mobile-540');
    });

    it('replaces the config and frees the profile it no longer uses', async () => {
      const put = await harness.api().put(`/api/encoder/config/${STREAM_KEY}`).send({ app: 'live', name: 'cam1', profiles: ['720p'] });
      const deleted = await harness.api().delete('/api/encoder/profiles/mobile-540');

      expect(put.status).toBe(200);
      expect(deleted.status).toBe(204);
    });

    it('deletes the config', async () => {
      const res = await harness.api().delete(`/api/encoder/config/${STREAM_KEY}`);
      const after = await harness.api().get(`/api/encoder/config/${STREAM_KEY}`);

      expect(res.status).toBe(204);
      expect(after.status).toBe(404);
    });
  });

  describe('encoder commands', () => {
    let client: CommandClient;

    beforeAll(() => {
      const logger = createLogger({ service: 'test', level: 'error' });
      client = new CommandClient({ redisUrl: harness.env.REDIS_URL!, prefix: harness.env.REDIS_KEY_PREFIX!, logger });
    });

    afterAll(async () => {
      await client.close();
    });

    it('arms a key that is not live and reports its playlist path', async () => {
      const result = await client.send('encoder', 'transcode.arm', { streamKey: 'cmd-key-0001', app: 'live', name: 'cmd', profiles: ['480p', '240p'], record: true });
      const status = await harness.api().get('/api/encoder/status').query({ streamKey: 'cmd-key-0001' });

      expect(result.state).toBe('armed');
      expect(result.masterPlaylistPath).toMatch(new RegExp(`^${keyIdOf('cmd-key-0001')}/[a-z0-9-]+/master\\.m3u8$`));
      expect(status.body).toMatchObject({ armed: true, live: false, job: null });
    });

    it('rejects an invalid payload without retrying', async () => {
      await expect(client.send('encoder', 'transcode.arm', { streamKey: 'cmd-key-0001', app: 'live', name: 'cmd', profiles: ['nope'], record: false })).rejects.toMatchObject({ code: 'invalid_argument' });
    });

    it('applies settings and reports changes and ignored keys', async () => {
      const result = await client.send('encoder', 'config.apply', { settings: { hlsSegmentSeconds: 4, somethingElse: 1 } });
      const again = await client.send('encoder', 'config.apply', { settings: { hlsSegmentSeconds: 4 } });

      expect(result.changed).toEqual({ hlsSegmentSeconds: { from: null, to: 4 } });
      expect(result.ignored).toEqual(['somethingElse']);
      expect(again.changed).toEqual({});
    });

    it('disarms and removes the config', async () => {
      const result = await client.send('encoder', 'transcode.disarm', { streamKey: 'cmd-key-0001' });
      const after = await harness.api().get('/api/encoder/config/cmd-key-0001');

      expect(result.removed).toBe(true);
      expect(after.status).toBe(404);
    });
  });

  describe('logs', () => {
    it('keep stream keys out of every line', () => {
      expect(harness.logs.output).toContain('"route":"/api/encoder/config/:streamKey"');
      expect(harness.logs.output).not.toContain(STREAM_KEY);
      expect(harness.logs.output).not.toContain('unknown-key-123');
      expect(harness.logs.output).not.toContain('cmd-key-0001');
    });
  });
});
