import request from 'supertest';

import { baseTestEnv, startOwnRedis, testToken, uniquePrefix, waitFor } from '@castplane/testing';
import type { OwnRedis } from '@castplane/testing';

import type { TestApp } from './helpers';
import { startTestApp } from './helpers';

/** Waits past a window boundary that is near, so a test's requests all count in one window. */
async function awayFromWindowEdge(windowSeconds = 60): Promise<void> {
  const left = windowSeconds * 1000 - (Date.now() % (windowSeconds * 1000));
  if (left < 5000) await new Promise((resolve) => setTimeout(resolve, left + 100));
}

describe('rate limiting', () => {
  let first: TestApp;
  let second: TestApp;
  let token: string;

  beforeAll(async () => {
    // Two instances with one key prefix on one Redis behave like two replicas of a service.
    const env = baseTestEnv('ratelimit', { RATE_LIMIT_MAX: '6', RATE_LIMIT_WINDOW_SECONDS: '60' });
    first = await startTestApp(env);
    second = await startTestApp(env);
    token = await testToken(['read']);
  });

  afterAll(async () => {
    await Promise.all([first.close(), second.close()]);
  });

  it('reports the limit headers on every response, errors included', async () => {
    const ok = await request(first.url).get('/api/items').set('Authorization', `Bearer ${token}`);
    const denied = await request(first.url).get('/api/items');
    for (const res of [ok, denied]) {
      expect(res.headers['x-rate-limit-limit']).toBe('6');
      expect(Number(res.headers['x-rate-limit-remaining'])).toBeGreaterThanOrEqual(0);
      expect(Number(res.headers['x-rate-limit-reset'])).toBeGreaterThan(Date.now() / 1000);
    }
  });

  it('shares one budget across two instances until 429', async () => {
    await awayFromWindowEdge();
    // The API key is its own principal, so its budget starts at zero here.
    const statuses: number[] = [];
    const remaining: number[] = [];
    for (let i = 0; i < 8; i += 1) {
      const target = i % 2 === 0 ? first.url : second.url;
      const res = await request(target).get('/api/items').set('X-API-Key', 'read-only-key-0123456789');
      statuses.push(res.status);
      remaining.push(Number(res.headers['x-rate-limit-remaining']));
    }
    expect(statuses.slice(0, 6)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(statuses.slice(6)).toEqual([429, 429]);
    expect(remaining.slice(0, 6)).toEqual([5, 4, 3, 2, 1, 0]);
  });

  it('answers 429 with Retry-After and the envelope', async () => {
    const res = await request(second.url).get('/api/items').set('X-API-Key', 'read-only-key-0123456789');
    expect(res.status).toBe(429);
    expect(res.body.code).toBe('resource_exhausted');
    expect(res.body.details).toEqual([{ field: 'headers.x-api-key', message: expect.stringMatching(/^more than 6 requests in \d+ s, retry in \d+ s$/) }]);
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
  });
});

describe('rate limiting far from the limit', () => {
  let app: TestApp;
  let token: string;

  beforeAll(async () => {
    app = await startTestApp(baseTestEnv('batched', { RATE_LIMIT_MAX: '1000', RATE_LIMIT_WINDOW_SECONDS: '60' }));
    token = await testToken(['read']);
  });

  afterAll(async () => {
    await app.close();
  });

  it('adds every request to the shared count in Redis', async () => {
    await awayFromWindowEdge();
    const remaining: number[] = [];
    for (let i = 0; i < 40; i += 1) {
      const res = await request(app.url).get('/api/items').set('Authorization', `Bearer ${token}`);
      expect(res.status).toBe(200);
      remaining.push(Number(res.headers['x-rate-limit-remaining']));
    }
    expect(remaining[0]).toBe(999);
    expect(remaining[39]).toBe(960);
    const window = Math.floor(Date.now() / 60000);
    const key = `${app.runtime.queues.prefix}:ratelimit:jwt:test-suite:${window}`;
    const shared = await waitFor(async () => Number(await app.runtime.redis.get(key)) === 40, { timeoutMs: 3000, what: 'flushed count' });
    expect(shared).toBe(true);
  });
});

describe('rate limiting without Redis', () => {
  let redis: OwnRedis;
  let app: TestApp;
  let token: string;

  beforeAll(async () => {
    redis = await startOwnRedis();
    app = await startTestApp(baseTestEnv('failopen', { REDIS_URL: redis.url, REDIS_KEY_PREFIX: uniquePrefix('failopen') }));
    token = await testToken(['write']);
    await redis.stop();
  });

  afterAll(async () => {
    await app.close();
  });

  it('lets reads pass when Redis is down', async () => {
    const res = await request(app.url).get('/api/items').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.headers['x-rate-limit-limit']).toBe('1000');
  });

  it('answers writes with 503 when Redis is down', async () => {
    const res = await request(app.url).post('/api/items').set('Authorization', `Bearer ${token}`).send({ name: 'a', size: 1 });
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('unavailable');
  });

  it('logs the outage once', () => {
    const outages = app.logs.lines().filter((line) => String(line.msg).startsWith('rate limiter cannot reach redis'));
    expect(outages).toHaveLength(1);
  });
});
