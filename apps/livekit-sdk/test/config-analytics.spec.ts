import { SignJWT } from 'jose';
import { TokenVerifier } from 'livekit-server-sdk';
import request from 'supertest';

import { CommandClient, createRedis } from '@castplane/redis';
import type { Redis } from '@castplane/redis';
import { freePort, testToken } from '@castplane/testing';

import { AnalyticsStore } from '../src/services/analytics.store';
import { SecretBox } from '../src/services/secret-box';
import { SettingsService } from '../src/services/settings.service';

import { LIVEKIT_KEY, LIVEKIT_SECRET, startSdk } from './helpers';
import type { StartedSdk } from './helpers';

describe('configuration, regions, tokens and client stats', () => {
  let sdk: StartedSdk;
  let token: string;
  let closedPort: number;
  let commands: CommandClient;
  let redis: Redis;

  beforeAll(async () => {
    const apiPort = await freePort();
    closedPort = await freePort();
    sdk = await startSdk('lksdkconfig', {
      LIVEKIT_SDK_API_PORT: String(apiPort),
      LIVEKIT_REGIONS: `local=http://127.0.0.1:${apiPort},down=ws://127.0.0.1:${closedPort}`,
      LIVEKIT_REGION_PROBE_TIMEOUT_MS: '2000',
    });
    token = await testToken(['admin']);
    commands = new CommandClient({ redisUrl: sdk.env.REDIS_URL!, prefix: sdk.env.REDIS_KEY_PREFIX!, logger: sdk.running.logger });
    redis = createRedis(sdk.env.REDIS_URL!, { name: 'settings-test' });
  });

  afterAll(async () => {
    redis.disconnect();
    await commands.close();
    await sdk.stop();
  });

  const api = () => ({
    get: (path: string) => request(sdk.api).get(path).set('Authorization', `Bearer ${token}`),
    put: (path: string) => request(sdk.api).put(path).set('Authorization', `Bearer ${token}`),
    post: (path: string) => request(sdk.api).post(path).set('Authorization', `Bearer ${token}`),
  });

  describe('GET|PUT /api/livekit/config', () => {
    it('shows the settings without the API secret', async () => {
      const response = await api().get('/api/livekit/config');

      expect(response.status).toBe(200);
      expect(response.body.apiKey).toBe(LIVEKIT_KEY);
      expect(response.body.apiSecretSet).toBe(true);
      expect(JSON.stringify(response.body)).not.toContain(LIVEKIT_SECRET);
    });

    it.each(['http://169.254.169.254/', 'http://[fe80::1]:7880'])('rejects livekitUrl %s and changes nothing', async (livekitUrl) => {
      const before = (await api().get('/api/livekit/config')).body;
      const response = await api().put('/api/livekit/config').send({ livekitUrl, defaultTokenTtlSeconds: 77 });
      const after = (await api().get('/api/livekit/config')).body;

      expect(response.status).toBe(400);
      expect(response.body.details[0].field).toBe('body.livekitUrl');
      expect(after.livekitUrl).toBe(before.livekitUrl);
      expect(after.defaultTokenTtlSeconds).toBe(before.defaultTokenTtlSeconds);
    });

    it('persists a change in Redis and reports what changed', async () => {
      const response = await api()
        .put('/api/livekit/config')
        .send({ defaultTokenTtlSeconds: 120, defaultRoom: { maxParticipants: 50 } });
      const stored = await request(sdk.api).get('/api/livekit/config').set('Authorization', `Bearer ${token}`);

      expect(response.status).toBe(200);
      expect(response.body.changed).toEqual(expect.arrayContaining(['defaultTokenTtlSeconds', 'defaultRoom.maxParticipants']));
      expect(stored.body.defaultTokenTtlSeconds).toBe(120);
      expect(stored.body.defaultRoom.maxParticipants).toBe(50);
      expect(stored.body.defaultRoom.emptyTimeout).toBe(300);
    });

    it('accepts a new secret without ever returning it', async () => {
      const secret = 'a-new-secret-value-for-testing-0001';
      const response = await api().put('/api/livekit/config').send({ apiKey: LIVEKIT_KEY, apiSecret: secret });
      const restore = await api().put('/api/livekit/config').send({ apiKey: LIVEKIT_KEY, apiSecret: LIVEKIT_SECRET });

      expect(response.status).toBe(200);
      expect(JSON.stringify(response.body)).not.toContain(secret);
      expect(restore.body.changed).toContain('apiSecret');
      expect(sdk.logs.output).not.toContain(secret);
    });

    it('stores the API secret only encrypted', async () => {
      const secret = 'a-stored-secret-value-for-testing-0002';
      await api().put('/api/livekit/config').send({ apiKey: LIVEKIT_KEY, apiSecret: secret }).expect(200);
      const raw = (await redis.get(`${sdk.env.REDIS_KEY_PREFIX}:lksdk:settings`)) ?? '';
      await api().put('/api/livekit/config').send({ apiKey: LIVEKIT_KEY, apiSecret: LIVEKIT_SECRET }).expect(200);

      expect(raw).not.toContain(secret);
      expect(JSON.parse(raw).settings.apiSecretSealed).toMatch(/^v1:/);
    });
  });

  describe('AnalyticsStore', () => {
    it('trims rooms finished before the retention', async () => {
      const keyPrefix = `${sdk.env.REDIS_KEY_PREFIX}:trim`;
      const day = 86400 * 1000;
      const now = Date.now();
      const room = (roomSid: string, type: 'room_started' | 'room_finished', at: number) => ({ type, at, roomName: roomSid, roomSid });
      const writer = new AnalyticsStore({ redis, keyPrefix, retentionDays: 30 });
      await writer.apply(room('RM_old', 'room_started', now - 40 * day));
      await writer.apply(room('RM_old', 'room_finished', now - 39 * day));
      await writer.apply(room('RM_open', 'room_started', now - 40 * day));
      await writer.apply(room('RM_recent', 'room_started', now - 2 * day));
      await writer.apply(room('RM_recent', 'room_finished', now - day));
      // A new store has not trimmed yet, so its first write trims.
      await new AnalyticsStore({ redis, keyPrefix, retentionDays: 30 }).apply(room('RM_new', 'room_started', now));
      const sids = (await writer.rooms(now - 60 * day, now, 50)).map((session) => session.sid).sort();

      expect(sids).toEqual(['RM_new', 'RM_open', 'RM_recent']);
      expect(await redis.exists(`${keyPrefix}:lksdk:analytics:room:RM_old`)).toBe(0);
    });
  });

  describe('SettingsService', () => {
    const defaults = {
      livekitUrl: 'http://127.0.0.1:7880',
      apiKey: 'APIdefault',
      apiSecret: 'secret-from-the-environment',
      defaultTokenTtlSeconds: 3600,
      defaultRoom: { emptyTimeout: 300, departureTimeout: 20, maxParticipants: 0 },
      webhook: { clockToleranceSeconds: 60, acceptedEvents: [] },
    };
    const settingsFor = (keyPrefix: string, secretBox?: SecretBox) =>
      new SettingsService({ redis, keyPrefix, defaults, logger: sdk.running.logger, secretBox });

    it('reads a stored secret back on another replica', async () => {
      const keyPrefix = `${sdk.env.REDIS_KEY_PREFIX}:replicas`;
      await settingsFor(keyPrefix, new SecretBox('k'.repeat(40))).update({ apiSecret: 'the-rotated-secret' });
      const replica = settingsFor(keyPrefix, new SecretBox('k'.repeat(40)));
      await replica.reload();

      expect(replica.target().apiSecret).toBe('the-rotated-secret');
    });

    it('falls back to the environment secret under another key', async () => {
      const keyPrefix = `${sdk.env.REDIS_KEY_PREFIX}:otherkey`;
      await settingsFor(keyPrefix, new SecretBox('k'.repeat(40))).update({ apiSecret: 'the-rotated-secret' });
      const replica = settingsFor(keyPrefix, new SecretBox('j'.repeat(40)));
      await replica.reload();

      expect(replica.target().apiSecret).toBe('secret-from-the-environment');
      expect(sdk.logs.output).toContain('stored LiveKit API secret cannot be decrypted');
    });

    it('rejects storing a secret without an encryption key', async () => {
      const keyPrefix = `${sdk.env.REDIS_KEY_PREFIX}:nokey`;
      const settings = settingsFor(keyPrefix);
      const updating = settings.update({ apiSecret: 'the-rotated-secret', defaultTokenTtlSeconds: 60 });

      await expect(updating).rejects.toMatchObject({ code: 'failed_precondition', details: [{ field: 'body.apiSecret' }] });
      expect(await redis.exists(`${keyPrefix}:lksdk:settings`)).toBe(0);
    });
  });

  describe('GET /api/livekit/config/regions', () => {
    it('reports which regions answer', async () => {
      const response = await api().get('/api/livekit/config/regions');
      const byName = Object.fromEntries(response.body.regions.map((region: { name: string }) => [region.name, region]));

      expect(response.status).toBe(200);
      expect(byName.local.reachable).toBe(true);
      expect(byName.local.status).toBe(404);
      expect(byName.down.reachable).toBe(false);
      expect(byName.down.healthy).toBe(false);
    });
  });

  describe('tokens', () => {
    it('issues a token LiveKit verifies and records it by id without the token', async () => {
      const issued = await api()
        .post('/api/livekit/token/generate')
        .send({ identity: 'viewer-1', roomName: 'room-tokens', ttlSeconds: 300, grants: { canPublish: false } });
      const claims = await new TokenVerifier(LIVEKIT_KEY, LIVEKIT_SECRET).verify(issued.body.token);
      const record = await api().get(`/api/livekit/token/${issued.body.tokenId}`);

      expect(issued.status).toBe(201);
      expect(claims.sub).toBe('viewer-1');
      expect(claims.video?.room).toBe('room-tokens');
      expect(claims.video?.canPublish).toBe(false);
      expect(record.body.identity).toBe('viewer-1');
      expect(record.body.revoked).toBe(false);
      expect(JSON.stringify(record.body)).not.toContain(issued.body.token);
    });

    it('validates a token and reports it revoked after revocation', async () => {
      const issued = await api().post('/api/livekit/token/generate').send({ identity: 'viewer-2', roomName: 'room-tokens' });
      const before = await api().post('/api/livekit/token/validate').send({ token: issued.body.token });
      await api().post(`/api/livekit/token/${issued.body.tokenId}/revoke`);
      const after = await api().post('/api/livekit/token/validate').send({ token: issued.body.token });
      const record = await api().get(`/api/livekit/token/${issued.body.tokenId}`);

      expect(before.body.valid).toBe(true);
      expect(before.body.tokenId).toBe(issued.body.tokenId);
      expect(after.body.valid).toBe(false);
      expect(after.body.reason).toMatch(/revoked/);
      expect(record.body.revoked).toBe(true);
    });

    it('reports an expired token as invalid', async () => {
      const now = Math.floor(Date.now() / 1000);
      // Expired beyond the 60 s tolerance that LiveKit servers allow.
      const expired = await new SignJWT({ video: { roomJoin: true, room: 'room-tokens' } })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(LIVEKIT_KEY)
        .setSubject('late-viewer')
        .setNotBefore(now - 600)
        .setExpirationTime(now - 300)
        .sign(new TextEncoder().encode(LIVEKIT_SECRET));
      const response = await api().post('/api/livekit/token/validate').send({ token: expired });

      expect(response.status).toBe(200);
      expect(response.body.valid).toBe(false);
      expect(response.body.reason).toMatch(/expired/);
    });

    it('reports a token signed with another secret as invalid', async () => {
      const { AccessToken } = await import('livekit-server-sdk');
      const foreign = new AccessToken(LIVEKIT_KEY, 'some-other-secret-0123456789', { identity: 'x' });
      foreign.addGrant({ roomJoin: true, room: 'r' });
      const response = await api().post('/api/livekit/token/validate').send({ token: await foreign.toJwt() });

      expect(response.status).toBe(200);
      expect(response.body.valid).toBe(false);
      expect(response.body.reason).toMatch(/signature/);
    });
  });

  describe('client stats analytics', () => {
    it('buckets bandwidth and quality samples over time', async () => {
      // Ten minutes ago on a minute boundary: older samples would fall outside the retention period.
      const base = Math.floor((Date.now() - 600_000) / 60_000) * 60_000;
      const sample = (offsetSeconds: number, extra: object) => ({
        roomName: 'stats-room',
        identity: 'alice',
        timestamp: new Date(base + offsetSeconds * 1000).toISOString(),
        bytesSent: 1000,
        bytesReceived: 500,
        ...extra,
      });
      const posted = await api()
        .post('/api/livekit/analytics/stats')
        .send({
          samples: [
            sample(10, { bitrateKbps: 800, packetLossPercent: 1, quality: 'excellent' }),
            sample(20, { bitrateKbps: 1200, packetLossPercent: 3, quality: 'good' }),
            sample(70, { bitrateKbps: 500, jitterMs: 12, quality: 'poor' }),
          ],
        });
      const range = { from: new Date(base).toISOString(), to: new Date(base + 120_000).toISOString(), bucketSeconds: '60', roomName: 'stats-room' };
      const bandwidth = await api().get('/api/livekit/analytics/bandwidth').query(range);
      const quality = await api().get('/api/livekit/analytics/quality').query(range);

      expect(posted.status).toBe(202);
      expect(bandwidth.body.buckets).toHaveLength(2);
      expect(bandwidth.body.buckets[0].bytesSent).toBe(2000);
      expect(bandwidth.body.buckets[0].avgBitrateKbps).toBe(1000);
      expect(bandwidth.body.buckets[1].bytesReceived).toBe(500);
      expect(quality.body.buckets[0].avgPacketLossPercent).toBe(2);
      expect(quality.body.buckets[0].quality).toEqual({ excellent: 1, good: 1, poor: 0, lost: 0 });
      expect(quality.body.buckets[1].avgJitterMs).toBe(12);
    });
  });

  describe('commands', () => {
    it('applies known settings from config.apply and lists the others as ignored', async () => {
      const result = await commands.send('livekit-sdk', 'config.apply', {
        settings: { defaultTokenTtlSeconds: 900, 'srs.something': true },
      });
      const current = await api().get('/api/livekit/config');

      expect(result.changed.defaultTokenTtlSeconds).toEqual({ from: expect.any(Number), to: 900 });
      expect(result.ignored).toEqual(['srs.something']);
      expect(current.body.defaultTokenTtlSeconds).toBe(900);
    });

    it('rejects invalid settings with invalid_argument naming the key', async () => {
      await expect(
        commands.send('livekit-sdk', 'config.apply', { settings: { defaultTokenTtlSeconds: -5 } }),
      ).rejects.toMatchObject({ code: 'invalid_argument', details: [expect.objectContaining({ field: 'settings.defaultTokenTtlSeconds' })] });
    });

    it('issues a viewer token with subscribe-only grants', async () => {
      const result = await commands.send('livekit-sdk', 'token.issue', { roomName: 'cmd-room', identity: 'watcher', role: 'viewer' });
      const claims = await new TokenVerifier(LIVEKIT_KEY, LIVEKIT_SECRET).verify(result.token);

      expect(claims.video?.canSubscribe).toBe(true);
      expect(claims.video?.canPublish).toBe(false);
      expect(claims.video?.roomAdmin).toBeUndefined();
      expect(result.signalUrl).toMatch(/\/signal\/cmd-room$/);
      expect(result.tokenId).toMatch(/^tok_/);
    });

    it('issues a host token with publish, subscribe and roomAdmin', async () => {
      const result = await commands.send('livekit-sdk', 'token.issue', { roomName: 'cmd-room', identity: 'host', role: 'host', ttlSeconds: 600 });
      const claims = await new TokenVerifier(LIVEKIT_KEY, LIVEKIT_SECRET).verify(result.token);

      expect(claims.video).toMatchObject({ room: 'cmd-room', roomJoin: true, canPublish: true, canSubscribe: true, roomAdmin: true });
      expect(Date.parse(result.expiresAt) - Date.now()).toBeGreaterThan(500_000);
    });
  });
});
