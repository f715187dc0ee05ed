import http from 'node:http';

import request from 'supertest';

import { baseTestEnv, startOwnRedis, testToken, uniquePrefix } from '@castplane/testing';

import { READ_KEY, startTestApp } from './helpers';

describe('log redaction', () => {
  it('keeps credentials, stream keys and keyed query strings out of the logs', async () => {
    const app = await startTestApp(baseTestEnv('redaction'));
    const token = await testToken(['admin']);
    try {
      await request(app.url).get('/api/items').set('Authorization', `Bearer ${token}`);
      await request(app.url).get('/api/items').set('X-API-Key', READ_KEY);
      await request(app.url).get('/api/items?key=query-secret-123456').set('X-API-Key', READ_KEY);
      await request(app.url).post('/api/items').set('Authorization', `Bearer ${token}`).send({ name: 'a', size: 1 });
      app.runtime.logger.info('publish allowed', {
        param: '?key=param-secret-987654',
        url: 'rtmp://127.0.0.1/live/cam?key=url-secret-555555',
        headers: { authorization: `Bearer ${token}` },
      });
      app.runtime.logger.warn(`upstream said Bearer ${token}`);
      await new Promise((resolve) => setImmediate(resolve));

      const output = app.logs.output;
      expect(output).toContain('request completed');
      for (const secret of [token, READ_KEY, 'query-secret-123456', 'param-secret-987654', 'url-secret-555555', 'sk-live-should-not-leak']) {
        expect(output).not.toContain(secret);
      }
      expect(output).not.toContain(baseTestEnv('x').AUTH_JWT_SECRET as string);
    } finally {
      await app.close();
    }
  });
});

describe('readiness', () => {
  it('fails readiness while Redis is down', async () => {
    const redis = await startOwnRedis();
    const app = await startTestApp(baseTestEnv('ready', { REDIS_URL: redis.url, REDIS_KEY_PREFIX: uniquePrefix('ready') }));
    try {
      expect((await request(app.url).get('/ready')).status).toBe(200);
      await redis.stop();
      const down = await request(app.url).get('/ready');
      expect(down.status).toBe(503);
      expect(down.body.failing).toEqual(['redis']);
      expect(down.body.checks.redis.status).toBe('down');
      const restarted = await startOwnRedis(redis.port);
      try {
        let status = 0;
        for (let i = 0; i < 50 && status !== 200; i += 1) {
          status = (await request(app.url).get('/ready')).status;
          if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
        }
        expect(status).toBe(200);
      } finally {
        await app.close();
        await restarted.stop();
      }
    } finally {
      await app.close();
    }
  });
});

describe('graceful shutdown', () => {
  it('answers in-flight requests, fails readiness first, then stops', async () => {
    const app = await startTestApp(baseTestEnv('shutdown'));
    const token = await testToken(['read']);
    const inFlight = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.get(
        `${app.url}/api/items/slow`,
        { headers: { Authorization: `Bearer ${token}`, 'X-Delay-Ms': '700' } },
        (res) => {
          let body = '';
          res.on('data', (chunk) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
    });
    await new Promise((resolve) => setTimeout(resolve, 150));

    const stopping = app.close();
    expect(app.runtime.lifecycle.draining).toBe(true);
    const answer = await inFlight;
    await stopping;

    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ id: 'slow' });
    expect(app.server.listening).toBe(false);
    const stopped = app.logs.lines().map((line) => line.msg);
    expect(stopped).toEqual(expect.arrayContaining(['shutting down', 'stopped']));
  });
});
