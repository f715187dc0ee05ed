import { baseTestEnv } from '@castplane/testing';

import { loadConfigFromEnv } from '../src/config';
import type { Harness } from './encoder-harness';
import { startHarness } from './encoder-harness';

const METADATA_URL = 'http://169.254.169.254/latest/meta-data/';

function config(streamKey: string, name: string, extra: Record<string, unknown> = {}) {
  return { streamKey, app: 'live', name, profiles: ['720p', '360p'], ...extra };
}

function pushes(...urls: string[]) {
  return { rtmpPush: urls.map((url) => ({ profileId: '720p', url })) };
}

describe('encoder outbound URL policy', () => {
  describe('with the default policy', () => {
    let harness: Harness;

    beforeAll(async () => {
      // The media server is reached by name here, so 127.0.0.1 gets no exemption from it.
      harness = await startHarness('outbound', { ENCODER_WORKERS_ENABLED: 'false', MEDIA_RTMP_URL: 'rtmp://localhost:1' });
    });

    afterAll(async () => {
      await harness.stop();
    });

    it('rejects a metadata source without saving', async () => {
      const res = await harness.api().post('/api/encoder/config').send(config('sk_outbound_meta_1', 'meta', { source: METADATA_URL }));
      const saved = await harness.api().get('/api/encoder/config/sk_outbound_meta_1');

      expect(res.status).toBe(400);
      expect(res.body.details).toEqual([{ field: 'body.source', message: expect.stringContaining('link-local or cloud metadata') }]);
      expect(res.body.message).toContain('ENCODER_ALLOWED_HOSTS');
      expect(saved.status).toBe(404);
    });

    it('rejects another port or scheme on the media server host', async () => {
      const otherPort = await harness.api().post('/api/encoder/config').send(config('sk_outbound_list_5', 'port', { source: 'http://localhost:6379/' }));
      const otherScheme = await harness.api().post('/api/encoder/config').send(config('sk_outbound_list_6', 'scheme', { source: 'http://localhost:1/' }));

      expect(otherPort.status).toBe(400);
      expect(otherScheme.status).toBe(400);
      expect(otherPort.body.details[0].field).toBe('body.source');
    });

    it('rejects a loopback push target with its index', async () => {
      const outputs = pushes('rtmp://10.0.0.5/live/out', 'rtmp://127.0.0.1:1935/live/out?key=sk_push_secret');
      const res = await harness.api().post('/api/encoder/config').send(config('sk_outbound_loop_1', 'loop', { outputs }));

      expect(res.status).toBe(400);
      expect(res.body.details[0].field).toBe('body.outputs.rtmpPush.1.url');
      expect(res.body.message).toContain('host 127.0.0.1 is not allowed: it resolves to a loopback address');
      expect(JSON.stringify(res.body)).not.toContain('sk_push_secret');
    });

    it('allows private and media server hosts', async () => {
      const outputs = pushes('rtmp://192.168.10.4/live/out', 'rtmp://localhost:1/live/out');
      const res = await harness.api().post('/api/encoder/config').send(config('sk_outbound_ok_1', 'allowed', { source: 'srt://10.1.2.3:9000', outputs }));

      expect(res.status).toBe(201);
      expect(res.body.outputs.rtmpPush).toHaveLength(2);
    });

    it('rejects a blocked push on update', async () => {
      const update = { app: 'live', name: 'allowed', profiles: ['720p', '360p'], outputs: pushes('rtmps://[::1]/live/out') };
      const res = await harness.api().put('/api/encoder/config/sk_outbound_ok_1').send(update);
      const saved = await harness.api().get('/api/encoder/config/sk_outbound_ok_1');

      expect(res.status).toBe(400);
      expect(res.body.details[0].field).toBe('body.outputs.rtmpPush.0.url');
      expect(saved.body.outputs.rtmpPush.map((push: { url: string }) => push.url)).toEqual(['rtmp://192.168.10.4/live/out', 'rtmp://localhost:1/live/out']);
    });

    it('rejects a metadata source on update', async () => {
      const update = { app: 'live', name: 'allowed', profiles: ['720p'], source: 'https://[::ffff:169.254.169.254]/' };
      const res = await harness.api().put('/api/encoder/config/sk_outbound_ok_1').send(update);

      expect(res.status).toBe(400);
      expect(res.body.details[0].field).toBe('body.source');
    });
  });

  describe('with ENCODER_ALLOWED_HOSTS', () => {
    let harness: Harness;

    beforeAll(async () => {
      harness = await startHarness('outbound-list', {
        ENCODER_WORKERS_ENABLED: 'false',
        MEDIA_RTMP_URL: 'rtmp://localhost:1',
        ENCODER_ALLOWED_HOSTS: '127.0.0.0/8, cameras.example',
      });
    });

    afterAll(async () => {
      await harness.stop();
    });

    it('allows a listed loopback range', async () => {
      const res = await harness.api().post('/api/encoder/config').send(config('sk_outbound_list_1', 'listed', { outputs: pushes('rtmp://127.0.0.1:1935/live/out') }));

      expect(res.status).toBe(201);
    });

    it('rejects a private address outside the list', async () => {
      const res = await harness.api().post('/api/encoder/config').send(config('sk_outbound_list_2', 'unlisted', { source: 'rtmp://192.168.10.4/live/cam' }));

      expect(res.status).toBe(400);
      expect(res.body.details[0].message).toContain('is not in the allow list');
    });

    it('still allows the media server', async () => {
      const res = await harness.api().post('/api/encoder/config').send(config('sk_outbound_list_3', 'media', { source: 'rtmp://localhost:1/live/cam' }));

      expect(res.status).toBe(201);
    });

    it('rejects the metadata endpoint', async () => {
      const res = await harness.api().post('/api/encoder/config').send(config('sk_outbound_list_4', 'meta', { source: METADATA_URL }));

      expect(res.status).toBe(400);
      expect(res.body.details[0].field).toBe('body.source');
    });
  });

  describe('ENCODER_ALLOWED_HOSTS parsing', () => {
    it('rejects an invalid entry at startup', () => {
      const env = baseTestEnv('encoder', { ENCODER_ALLOWED_HOSTS: 'cameras.example:1935' });

      expect(() => loadConfigFromEnv(env)).toThrow(/ENCODER_ALLOWED_HOSTS.*invalid host "cameras.example:1935"/s);
    });
  });
});
