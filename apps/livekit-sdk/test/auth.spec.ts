import { SignJWT, decodeJwt } from 'jose';
import request from 'supertest';

import { TEST_ISSUER, TEST_JWT_SECRET, testToken } from '@castplane/testing';

import { CLIENT_SECRET, READER_SECRET, login, startSdk } from './helpers';
import type { StartedSdk } from './helpers';

describe('SDK API authentication', () => {
  let sdk: StartedSdk;

  beforeAll(async () => {
    sdk = await startSdk('lksdkauth', { SDK_LOGIN_MAX_FAILURES: '3', SDK_LOGIN_WINDOW_SECONDS: '120' });
  });

  afterAll(async () => {
    await sdk.stop();
  });

  const config = (token: string) => request(sdk.api).get('/api/livekit/config').set('Authorization', `Bearer ${token}`);

  describe('POST /api/livekit/auth/login', () => {
    it('issues an access token the other routes accept', async () => {
      const pair = await login(sdk.api);

      expect(pair.expiresIn).toBeGreaterThan(0);
      expect(decodeJwt(pair.accessToken).sub).toBe('client:app');
      expect((await config(pair.accessToken)).status).toBe(200);
    });

    it('accepts a client whose secret is stored as an scrypt hash', async () => {
      const pair = await login(sdk.api, 'viewer', READER_SECRET);

      expect(decodeJwt(pair.accessToken).scope).toBe('read');
    });

    it('grants only the client scopes', async () => {
      const pair = await login(sdk.api, 'viewer', READER_SECRET);
      const response = await request(sdk.api)
        .put('/api/livekit/config')
        .set('Authorization', `Bearer ${pair.accessToken}`)
        .send({ defaultTokenTtlSeconds: 600 });

      expect(response.status).toBe(403);
    });

    it('rejects a wrong secret with 401', async () => {
      const response = await request(sdk.api)
        .post('/api/livekit/auth/login')
        .send({ clientId: 'app', clientSecret: 'not-the-secret' });

      expect(response.status).toBe(401);
      expect(response.body.code).toBe('unauthenticated');
    });

    it('rate limits failed logins per client with 429 and Retry-After', async () => {
      const attempt = (secret: string) =>
        request(sdk.api).post('/api/livekit/auth/login').send({ clientId: 'viewer', clientSecret: secret });
      const statuses = [];
      for (let index = 0; index < 3; index += 1) statuses.push((await attempt('wrong')).status);
      const locked = await attempt(READER_SECRET);
      const otherClient = await request(sdk.api).post('/api/livekit/auth/login').send({ clientId: 'app', clientSecret: CLIENT_SECRET });

      expect(statuses).toEqual([401, 401, 401]);
      expect(locked.status).toBe(429);
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
      expect(locked.body.details[0].field).toBe('body.clientId');
      expect(otherClient.status).toBe(200);
    });

    it('never writes the client secret to the logs', () => {
      expect(sdk.logs.output).not.toContain(CLIENT_SECRET);
      expect(sdk.logs.output).not.toContain(READER_SECRET);
    });
  });

  describe('POST /api/livekit/auth/refresh', () => {
    it('rotates the refresh token and issues a new access token', async () => {
      const first = await login(sdk.api);
      const response = await request(sdk.api).post('/api/livekit/auth/refresh').send({ refreshToken: first.refreshToken });

      expect(response.status).toBe(200);
      expect(response.body.refreshToken).not.toBe(first.refreshToken);
      expect(response.body.accessToken).not.toBe(first.accessToken);
      expect((await config(response.body.accessToken)).status).toBe(200);
    });

    it('revokes the whole session when an old refresh token is reused', async () => {
      const first = await login(sdk.api);
      const second = (await request(sdk.api).post('/api/livekit/auth/refresh').send({ refreshToken: first.refreshToken })).body;

      const reuse = await request(sdk.api).post('/api/livekit/auth/refresh').send({ refreshToken: first.refreshToken });
      const latest = await request(sdk.api).post('/api/livekit/auth/refresh').send({ refreshToken: second.refreshToken });

      expect(reuse.status).toBe(401);
      expect(reuse.body.message).toMatch(/already used/);
      expect(latest.status).toBe(401);
      expect((await config(first.accessToken)).status).toBe(401);
      expect((await config(second.accessToken)).status).toBe(401);
    });

    it('rejects an unknown refresh token with 401', async () => {
      const response = await request(sdk.api)
        .post('/api/livekit/auth/refresh')
        .send({ refreshToken: 'A'.repeat(43) });

      expect(response.status).toBe(401);
    });
  });

  describe('POST /api/livekit/auth/logout', () => {
    it('revokes the access token and its refresh token', async () => {
      const pair = await login(sdk.api);
      const response = await request(sdk.api)
        .post('/api/livekit/auth/logout')
        .set('Authorization', `Bearer ${pair.accessToken}`)
        .send({});

      const afterLogout = await config(pair.accessToken);
      const refresh = await request(sdk.api).post('/api/livekit/auth/refresh').send({ refreshToken: pair.refreshToken });

      expect(response.status).toBe(200);
      expect(response.body.revoked).toBe(1);
      expect(afterLogout.status).toBe(401);
      expect(afterLogout.body.message).toMatch(/revoked/);
      expect(refresh.status).toBe(401);
    });

    it('requires credentials', async () => {
      const response = await request(sdk.api).post('/api/livekit/auth/logout').send({});

      expect(response.status).toBe(401);
    });
  });

  describe('bearer tokens', () => {
    it('rejects an expired access token', async () => {
      const now = Math.floor(Date.now() / 1000);
      const expired = await new SignJWT({ scope: 'admin' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(TEST_ISSUER)
        .setSubject('client:app')
        .setIssuedAt(now - 600)
        .setExpirationTime(now - 300)
        .sign(new TextEncoder().encode(TEST_JWT_SECRET));
      const response = await config(expired);

      expect(response.status).toBe(401);
      expect(response.body.message).toMatch(/expired/);
    });

    it('rejects a token signed with another secret', async () => {
      const forged = await testToken(['admin'], { secret: 'x'.repeat(64) });

      expect((await config(forged)).status).toBe(401);
    });

    it('accepts platform service tokens that carry no session', async () => {
      expect((await config(await testToken(['read']))).status).toBe(200);
    });
  });
});
