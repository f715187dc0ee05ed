import request from 'supertest';

import { testToken } from '@castplane/testing';

import { startSdk } from './helpers';
import type { StartedSdk } from './helpers';

type Case = {
  name: string;
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  body?: unknown;
  query?: Record<string, string>;
  status: number;
  field: string;
};

const STREAM = 'bc_0123456789abcdef';
const TOKEN_ID = 'tok_01234567-89ab-cdef-0123-456789abcdef';

const CASES: Case[] = [
  { name: 'login without a secret', method: 'post', path: '/api/livekit/auth/login', body: { clientId: 'app' }, status: 400, field: 'body.clientSecret' },
  { name: 'login with a bad client id', method: 'post', path: '/api/livekit/auth/login', body: { clientId: 'a b', clientSecret: 'x' }, status: 400, field: 'body.clientId' },
  { name: 'refresh without a token', method: 'post', path: '/api/livekit/auth/refresh', body: {}, status: 400, field: 'body.refreshToken' },
  { name: 'logout with a malformed refresh token', method: 'post', path: '/api/livekit/auth/logout', body: { refreshToken: '!' }, status: 400, field: 'body.refreshToken' },
  { name: 'stream create without a title', method: 'post', path: '/api/livekit/stream/create', body: { hostIdentity: 'host' }, status: 400, field: 'body.title' },
  { name: 'stream create with a bad host identity', method: 'post', path: '/api/livekit/stream/create', body: { title: 't', hostIdentity: ' bad id' }, status: 400, field: 'body.hostIdentity' },
  { name: 'stream create with a bad room name', method: 'post', path: '/api/livekit/stream/create', body: { title: 't', hostIdentity: 'h', roomName: 'a/b' }, status: 400, field: 'body.roomName' },
  { name: 'stream create with a negative timeout', method: 'post', path: '/api/livekit/stream/create', body: { title: 't', hostIdentity: 'h', roomSettings: { emptyTimeout: -1 } }, status: 400, field: 'body.roomSettings.emptyTimeout' },
  { name: 'stream get with a bad id', method: 'get', path: '/api/livekit/stream/nope', status: 400, field: 'params.streamId' },
  { name: 'stream get of an unknown id', method: 'get', path: `/api/livekit/stream/${STREAM}`, status: 404, field: 'stream' },
  { name: 'stream update with an empty body', method: 'put', path: `/api/livekit/stream/${STREAM}`, body: {}, status: 400, field: 'body' },
  { name: 'stream update with an unknown field', method: 'put', path: `/api/livekit/stream/${STREAM}`, body: { state: 'live' }, status: 400, field: 'body.state' },
  { name: 'stream delete with a bad id', method: 'delete', path: '/api/livekit/stream/x', status: 400, field: 'params.streamId' },
  { name: 'stream start with a bad id', method: 'post', path: '/api/livekit/stream/x/start', status: 400, field: 'params.streamId' },
  { name: 'stream stop of an unknown id', method: 'post', path: `/api/livekit/stream/${STREAM}/stop`, status: 404, field: 'stream' },
  { name: 'room create without a name', method: 'post', path: '/api/livekit/room/create', body: {}, status: 400, field: 'body.name' },
  { name: 'room create with a huge participant limit', method: 'post', path: '/api/livekit/room/create', body: { name: 'r1', maxParticipants: 10_000_000 }, status: 400, field: 'body.maxParticipants' },
  { name: 'room get with a bad name', method: 'get', path: '/api/livekit/room/-bad', status: 400, field: 'params.roomId' },
  { name: 'join with a bad identity', method: 'post', path: '/api/livekit/room/r1/join', body: { identity: 'a b' }, status: 400, field: 'body.identity' },
  { name: 'join with a too short ttl', method: 'post', path: '/api/livekit/room/r1/join', body: { ttlSeconds: 1 }, status: 400, field: 'body.ttlSeconds' },
  { name: 'leave without an identity', method: 'post', path: '/api/livekit/room/r1/leave', body: {}, status: 400, field: 'body.identity' },
  { name: 'token generate without a room', method: 'post', path: '/api/livekit/token/generate', body: { identity: 'a' }, status: 400, field: 'body.roomName' },
  { name: 'token generate with an unknown source', method: 'post', path: '/api/livekit/token/generate', body: { identity: 'a', roomName: 'r', grants: { canPublishSources: ['webcam'] } }, status: 400, field: 'body.grants.canPublishSources.0' },
  { name: 'token validate without a token', method: 'post', path: '/api/livekit/token/validate', body: {}, status: 400, field: 'body.token' },
  { name: 'token get with a bad id', method: 'get', path: '/api/livekit/token/abc', status: 400, field: 'params.tokenId' },
  { name: 'token get of an unknown id', method: 'get', path: `/api/livekit/token/${TOKEN_ID}`, status: 404, field: 'token' },
  { name: 'token revoke of an unknown id', method: 'post', path: `/api/livekit/token/${TOKEN_ID}/revoke`, status: 404, field: 'token' },
  { name: 'config update with a bad URL', method: 'put', path: '/api/livekit/config', body: { livekitUrl: 'ftp://x' }, status: 400, field: 'body.livekitUrl' },
  { name: 'config update with a key but no secret', method: 'put', path: '/api/livekit/config', body: { apiKey: 'APIabc' }, status: 400, field: 'body' },
  { name: 'config update with an unknown event', method: 'put', path: '/api/livekit/config', body: { webhook: { acceptedEvents: ['nope'] } }, status: 400, field: 'body.webhook.acceptedEvents.0' },
  { name: 'rooms analytics with a bad date', method: 'get', path: '/api/livekit/analytics/rooms', query: { from: 'yesterday' }, status: 400, field: 'query.from' },
  { name: 'participants analytics with from after to', method: 'get', path: '/api/livekit/analytics/participants', query: { from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' }, status: 400, field: 'query.from' },
  { name: 'bandwidth analytics with too many buckets', method: 'get', path: '/api/livekit/analytics/bandwidth', query: { from: '2026-01-01T00:00:00Z', to: '2026-02-01T00:00:00Z', bucketSeconds: '1' }, status: 400, field: 'query.bucketSeconds' },
  { name: 'quality analytics with a bad room', method: 'get', path: '/api/livekit/analytics/quality', query: { roomName: '../x' }, status: 400, field: 'query.roomName' },
  { name: 'stats without samples', method: 'post', path: '/api/livekit/analytics/stats', body: { samples: [] }, status: 400, field: 'body.samples' },
  { name: 'stats with negative bytes', method: 'post', path: '/api/livekit/analytics/stats', body: { samples: [{ roomName: 'r', identity: 'a', bytesSent: -1, bytesReceived: 0 }] }, status: 400, field: 'body.samples.0.bytesSent' },
];

describe('SDK API input validation', () => {
  let sdk: StartedSdk;
  let token: string;

  beforeAll(async () => {
    sdk = await startSdk('lksdkvalid');
    token = await testToken(['admin']);
  });

  afterAll(async () => {
    await sdk.stop();
  });

  it.each(CASES)('$name gets $status naming $field', async ({ method, path, body, query, status, field }) => {
    let call = request(sdk.api)[method](path).set('Authorization', `Bearer ${token}`);
    if (query) call = call.query(query);
    const response = body === undefined ? await call : await call.send(body as object);

    expect(response.status).toBe(status);
    expect(response.body.details.map((detail: { field: string }) => detail.field)).toContain(field);
  });

  it('rejects malformed JSON with 400', async () => {
    const response = await request(sdk.api)
      .post('/api/livekit/room/create')
      .set('Authorization', `Bearer ${token}`)
      .set('Content-Type', 'application/json')
      .send('{"name":');

    expect(response.status).toBe(400);
    expect(response.body.details[0].field).toBe('body');
  });

  it('rejects calls without credentials with 401', async () => {
    const response = await request(sdk.api).post('/api/livekit/stream/create').send({ title: 't', hostIdentity: 'h' });

    expect(response.status).toBe(401);
  });

  it('rejects a read-only caller on a write route with 403', async () => {
    const reader = await testToken(['read']);
    const response = await request(sdk.api)
      .post('/api/livekit/room/create')
      .set('Authorization', `Bearer ${reader}`)
      .send({ name: 'r1' });

    expect(response.status).toBe(403);
  });

  it('answers 503 when the LiveKit server is unreachable', async () => {
    const response = await request(sdk.api)
      .post('/api/livekit/room/create')
      .set('Authorization', `Bearer ${token}`)
      .send({ name: 'unreachable-room' });

    expect(response.status).toBe(503);
    expect(response.body.code).toBe('unavailable');
  });
});
