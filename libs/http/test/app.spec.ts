import request from 'supertest';

import { REQUEST_ID_PATTERN } from '@castplane/http';
import { TEST_JWT_SECRET, baseTestEnv, testToken } from '@castplane/testing';
import { signServiceToken } from '@castplane/auth';

import type { TestApp } from './helpers';
import { READ_KEY, WRITE_KEY, startTestApp } from './helpers';

let app: TestApp;
let adminToken: string;

beforeAll(async () => {
  app = await startTestApp(baseTestEnv('httpapp'));
  adminToken = await testToken(['admin']);
});

afterAll(async () => {
  await app.close();
});

describe('authentication', () => {
  it('rejects a request without credentials with 401', async () => {
    const res = await request(app.url).get('/api/items');
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('unauthenticated');
    expect(res.body.requestId).toBe(res.headers['x-request-id']);
  });

  it('rejects a malformed Authorization header with 401', async () => {
    const res = await request(app.url).get('/api/items').set('Authorization', 'Token abc');
    expect(res.status).toBe(401);
    expect(res.body.message).toMatch(/Bearer/);
  });

  it('rejects an expired token with 401', async () => {
    const token = await signServiceToken(
      { sub: 'old', scope: ['admin'] },
      { secret: TEST_JWT_SECRET, issuer: 'castplane', ttlSeconds: -60 },
    );
    const res = await request(app.url).get('/api/items').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(401);
    expect(res.body.message).toMatch(/expired/);
  });

  it('rejects a token signed with another secret with 401', async () => {
    const token = await testToken(['admin'], { secret: 'another-secret-another-secret-0000' });
    const res = await request(app.url).get('/api/items').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(401);
    expect(res.body.message).toMatch(/signature/);
  });

  it('rejects an unknown API key with 401', async () => {
    const res = await request(app.url).get('/api/items').set('X-API-Key', 'not-a-configured-key');
    expect(res.status).toBe(401);
  });

  it('rejects a key without the scope with 403', async () => {
    const res = await request(app.url)
      .post('/api/items')
      .set('X-API-Key', READ_KEY)
      .send({ name: 'a', size: 1 });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('permission_denied');
  });

  it('accepts a valid API key with the scope', async () => {
    const res = await request(app.url).post('/api/items').set('X-API-Key', WRITE_KEY).send({ name: 'a', size: 1 });
    expect(res.status).toBe(201);
  });

  it('accepts the Bearer scheme in any letter case', async () => {
    const res = await request(app.url).get('/api/items').set('Authorization', `bearer ${adminToken}`);
    expect(res.status).toBe(200);
  });

  it('accepts a valid bearer token and lets write imply read', async () => {
    const writer = await testToken(['write']);
    const res = await request(app.url).get('/api/items?limit=5').set('Authorization', `Bearer ${writer}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ limit: 5, principal: 'jwt:test-suite' });
  });
});

describe('input errors', () => {
  it('answers a pattern failure without the rejected value', async () => {
    const res = await request(app.url)
      .post('/api/items')
      .set('Authorization', `Bearer ${adminToken}`)
      .send({ name: 'SECRET_VALUE!', size: 1 });
    expect(res.status).toBe(400);
    expect(res.body.details).toEqual([expect.objectContaining({ field: 'body.name', message: 'name does not match the required pattern' })]);
    expect(JSON.stringify(res.body)).not.toContain('SECRET_VALUE');
  });

  it('answers a bad percent-encoding in the path with 400 and logs no value', async () => {
    const res = await request(app.url).get('/api/items/SECRETKEY%ZZ').set('Authorization', `Bearer ${adminToken}`);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('invalid_argument');
    expect(res.body.details).toEqual([{ field: 'path', message: 'invalid percent-encoding' }]);
    expect(JSON.stringify(res.body)).not.toContain('SECRETKEY');
    expect(app.logs.output).not.toContain('SECRETKEY');
  });

  it('answers invalid JSON with 400 malformed naming the body', async () => {
    const res = await request(app.url)
      .post('/api/items')
      .set('Authorization', `Bearer ${adminToken}`)
      .set('Content-Type', 'application/json')
      .send('{"name": ');
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('malformed');
    expect(res.body.details[0].field).toBe('body');
  });

  it('answers a joi failure with 400 and every failing field', async () => {
    const res = await request(app.url)
      .post('/api/items')
      .set('Authorization', `Bearer ${adminToken}`)
      .send({ name: '../etc', size: 0, extra: true });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('invalid_argument');
    const fields = res.body.details.map((detail: { field: string }) => detail.field);
    expect(fields).toEqual(expect.arrayContaining(['body.name', 'body.size', 'body.extra']));
  });

  it('answers an invalid path value with 400 naming the param', async () => {
    const res = await request(app.url).get('/api/items/NOT%20OK').set('Authorization', `Bearer ${adminToken}`);
    expect(res.status).toBe(400);
    expect(res.body.details[0].field).toBe('params.id');
  });

  it('answers a body over 1 MB with 413', async () => {
    const res = await request(app.url)
      .post('/api/items')
      .set('Authorization', `Bearer ${adminToken}`)
      .send({ name: 'big', size: 1, pad: 'x'.repeat(1024 * 1024 + 10) });
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('payload_too_large');
  });

  it('answers a POST without a body with 400 naming the fields', async () => {
    const res = await request(app.url).post('/api/items').set('Authorization', `Bearer ${adminToken}`);
    expect(res.status).toBe(400);
    const fields = res.body.details.map((detail: { field: string }) => detail.field);
    expect(fields).toEqual(expect.arrayContaining(['body.name', 'body.size']));
  });

  it('answers a gzip body that does not inflate with 400', async () => {
    const res = await request(app.url)
      .post('/api/items')
      .set('Authorization', `Bearer ${adminToken}`)
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      .send('this is not gzip');
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('malformed');
  });

  it('answers a non-JSON content type with 415', async () => {
    const res = await request(app.url)
      .post('/api/items')
      .set('Authorization', `Bearer ${adminToken}`)
      .set('Content-Type', 'text/plain')
      .send('name=a');
    expect(res.status).toBe(415);
    expect(res.body.details[0].field).toBe('headers.content-type');
  });

  it('answers a known path with another method with 405 and Allow', async () => {
    const res = await request(app.url).delete('/api/items').set('Authorization', `Bearer ${adminToken}`);
    expect(res.status).toBe(405);
    expect(res.body.code).toBe('method_not_allowed');
    expect(res.headers.allow).toBe('GET, HEAD, POST');
  });

  it('answers an unknown route with the 404 envelope', async () => {
    const res = await request(app.url).get('/api/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      code: 'not_found',
      message: 'no route for GET /api/nothing-here',
      requestId: res.headers['x-request-id'],
      details: [{ field: 'path', message: 'unknown route' }],
    });
  });
});

describe('request id', () => {
  it('echoes a well-formed X-Request-Id', async () => {
    const res = await request(app.url).get('/health').set('X-Request-Id', 'client-req-12345678');
    expect(res.headers['x-request-id']).toBe('client-req-12345678');
  });

  it('replaces an X-Request-Id that does not match the pattern', async () => {
    const res = await request(app.url).get('/health').set('X-Request-Id', 'bad id<script>');
    expect(res.headers['x-request-id']).not.toBe('bad id<script>');
    expect(REQUEST_ID_PATTERN.test(res.headers['x-request-id'])).toBe(true);
  });
});

describe('security headers', () => {
  it('sets nosniff and hides the framework', async () => {
    const res = await request(app.url).get('/health');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('forbids every content source and framing', async () => {
    const res = await request(app.url).get('/health');
    expect(res.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'");
  });
});

describe('GET /openapi.json', () => {
  it('documents routes from the validation schemas', async () => {
    const res = await request(app.url).get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.0.3');
    const create = res.body.paths['/api/items'].post;
    expect(create.requestBody.content['application/json'].schema.required).toEqual(['name', 'size']);
    expect(create.requestBody.content['application/json'].schema.properties.name.pattern).toBe('^[a-z0-9-]+$');
    expect(res.body.paths['/api/items/{id}'].get.parameters[0]).toMatchObject({ name: 'id', in: 'path', required: true });
  });
});

describe('GET /metrics', () => {
  it('counts requests by route template and status', async () => {
    await request(app.url).get('/api/items/abc').set('Authorization', `Bearer ${adminToken}`);
    const res = await request(app.url).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/http_requests_total\{[^}]*route="\/api\/items\/:id"[^}]*status="200"[^}]*\} \d+/);
    expect(res.text).toMatch(/http_request_duration_seconds_bucket/);
    expect(res.text).toMatch(/process_resident_memory_bytes/);
  });
});
