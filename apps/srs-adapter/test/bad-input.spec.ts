import { testToken } from '@castplane/testing';

import { startTestAdapter } from './helpers';
import type { TestAdapter } from './helpers';

let t: TestAdapter;
let stream: Record<string, any>;

beforeAll(async () => {
  t = await startTestAdapter();
  stream = await api('POST', '/api/v1/streams', { name: 'bad-input-base' }).then((reply) => reply.body);
});

afterAll(async () => {
  await t.stop();
});

async function api(method: string, path: string, body?: unknown, token = t.token) {
  const response = await fetch(`${t.api}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

async function hook(action: string, body: string, query = `?secret=${t.secret}`, contentType = 'application/json') {
  const response = await fetch(`${t.api}/webhooks/srs/${action}${query}`, { method: 'POST', headers: { 'content-type': contentType }, body });
  return { status: response.status, text: await response.text() };
}

function publishBody(param: string): string {
  return JSON.stringify({
    action: 'on_publish', client_id: 'abc12345', ip: '127.0.0.1', vhost: '__defaultVhost__', app: 'live',
    stream: 'bad-input-base', param, stream_url: '/live/bad-input-base', stream_id: 'vid-aaaaaaa',
  });
}

async function total(): Promise<number> {
  return (await api('GET', '/api/v1/streams')).body.total;
}

describe('POST /api/v1/streams', () => {
  it.each([
    ['../etc', 'path traversal'],
    ['a b', 'space'],
    ['a/b', 'slash'],
    ['..', 'dots only'],
    ['.hidden', 'a leading dot'],
    ['x'.repeat(300), '300 characters'],
    ['', 'empty'],
  ])('rejects the name %j (%s) without writing', async (name) => {
    const before = await total();
    const reply = await api('POST', '/api/v1/streams', { name });
    expect(reply.status).toBe(400);
    expect(reply.body.code).toBe('invalid_argument');
    expect(reply.body.details.map((detail: { field: string }) => detail.field)).toContain('body.name');
    expect(await total()).toBe(before);
  });

  it('rejects wrong types in every field', async () => {
    const reply = await api('POST', '/api/v1/streams', { name: 5, dvr: 'maybe', playback: 'open', reconnectWindowSeconds: -1, metadata: 'x' });
    expect(reply.status).toBe(400);
    const fields = reply.body.details.map((detail: { field: string }) => detail.field);
    expect(fields).toEqual(expect.arrayContaining(['body.name', 'body.dvr', 'body.playback', 'body.reconnectWindowSeconds', 'body.metadata']));
  });

  it('returns 409 for a name taken in the app', async () => {
    const reply = await api('POST', '/api/v1/streams', { name: 'bad-input-base' });
    expect(reply.status).toBe(409);
    expect(reply.body.code).toBe('already_exists');
  });

  it('returns the same stream and key for a retried requestId', async () => {
    const first = await api('POST', '/api/v1/streams', { name: 'retried', requestId: 'req-1' });
    const second = await api('POST', '/api/v1/streams', { name: 'retried', requestId: 'req-1' });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body.streamId).toBe(first.body.streamId);
    expect(second.body.streamKey).toBe(first.body.streamKey);
    const other = await api('POST', '/api/v1/streams', { name: 'other-name', requestId: 'req-1' });
    expect(other.status).toBe(409);
  });

  it('requires credentials and the write scope', async () => {
    const anonymous = await fetch(`${t.api}/api/v1/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"anon"}' });
    expect(anonymous.status).toBe(401);
    const reader = await api('POST', '/api/v1/streams', { name: 'reader' }, await testToken(['read']));
    expect(reader.status).toBe(403);
  });
});

describe('stream routes with unknown or malformed ids', () => {
  it.each([
    ['GET', '/api/v1/streams/st_unknown12345'],
    ['DELETE', '/api/v1/streams/st_unknown12345'],
    ['GET', '/api/v1/streams/st_unknown12345/stat'],
    ['POST', '/api/v1/streams/st_unknown12345/unpublish'],
    ['POST', '/api/v1/streams/st_unknown12345/publish'],
    ['DELETE', '/api/v1/dvr/st_unknown12345'],
  ])('%s %s returns 404', async (method, path) => {
    const reply = await api(method, path, method === 'POST' ? {} : undefined);
    expect(reply.status).toBe(404);
    expect(reply.body.code).toBe('not_found');
  });

  it.each(['abc', 'st_..%2F..', 'st_' + 'x'.repeat(100)])('rejects the id %j with 400', async (id) => {
    const reply = await api('GET', `/api/v1/streams/${id}`);
    expect(reply.status).toBe(400);
    expect(reply.body.details[0].field).toBe('params.streamId');
  });

  it('rejects a source outside the media root', async () => {
    const reply = await api('POST', `/api/v1/streams/${stream.streamId}/publish`, { source: '../../etc/passwd' });
    expect(reply.status).toBe(400);
    expect(reply.body.details[0].field).toBe('body.source');
  });

  it('rejects a list query with a bad state', async () => {
    const reply = await api('GET', '/api/v1/streams?state=dancing&limit=0');
    expect(reply.status).toBe(400);
    expect(reply.body.details.map((detail: { field: string }) => detail.field)).toEqual(['query.state', 'query.limit']);
  });
});

describe('SRS callbacks with bad input', () => {
  it('denies a callback without the secret and changes nothing', async () => {
    const good = publishBody(`?key=${stream.streamKey}`);
    const missing = await hook('on_publish', good, '');
    const wrong = await hook('on_publish', good, '?secret=wrong-secret-value');
    expect(missing.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(JSON.parse(missing.text).code).not.toBe(0);
    expect((await api('GET', `/api/v1/streams/${stream.streamId}`)).body.state).toBe('idle');
  });

  it('denies a body that is not JSON', async () => {
    const reply = await hook('on_publish', '{not json');
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.text).code).toBe(400);
  });

  it('denies a body of another content type', async () => {
    const reply = await hook('on_publish', publishBody(`?key=${stream.streamKey}`), undefined, 'text/plain');
    expect(reply.status).toBe(415);
    expect((await api('GET', `/api/v1/streams/${stream.streamId}`)).body.state).toBe('idle');
  });

  it.each([
    ['client_id as a number', { client_id: 5 }],
    ['app as an array', { app: ['live'] }],
    ['param as an object', { param: { key: 'x' } }],
    ['client_id with a colon', { client_id: 'a:b' }],
    ['a missing stream', { stream: undefined }],
  ])('denies %s without a change', async (_label, patch) => {
    const body = { ...JSON.parse(publishBody(`?key=${stream.streamKey}`)), ...patch };
    const reply = await hook('on_publish', JSON.stringify(body));
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.text).code).toBe(400);
    expect((await api('GET', `/api/v1/streams/${stream.streamId}`)).body.state).toBe('idle');
  });

  it('denies a JSON body that is not an object', async () => {
    expect((await hook('on_play', '42')).status).toBe(400);
    expect((await hook('on_play', 'null')).status).toBe(400);
  });

  it('ignores unknown extra fields', async () => {
    const body = { ...JSON.parse(publishBody(`?key=${stream.streamKey}&foo=bar`)), extra: { nested: true }, server_version: 7 };
    const reply = await hook('on_publish', JSON.stringify(body));
    expect(reply.text).toBe('{"code":0}');
    const unpublish = { ...body, action: 'on_unpublish' };
    expect((await hook('on_unpublish', JSON.stringify(unpublish))).text).toBe('{"code":0}');
  });

  it('keeps keys and the callback secret out of the logs', async () => {
    await hook('on_publish', publishBody('?key=wrong-key-value-123'));
    expect(t.logs.output).toContain('"reason":"wrong_key"');
    expect(t.logs.output).not.toContain(stream.streamKey);
    expect(t.logs.output).not.toContain(t.secret);
    expect(t.logs.output).not.toContain('wrong-key-value-123');
  });
});
