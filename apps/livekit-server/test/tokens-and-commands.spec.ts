import { AccessToken, TokenVerifier } from 'livekit-server-sdk';
import { SignJWT, decodeJwt } from 'jose';

import { CommandClient } from '@castplane/redis';
import { createLogger } from '@castplane/logging';
import { testToken } from '@castplane/testing';

import { SignalClient, adminFetch, joinToken, startTestServer, socketsClosed } from './helpers';
import type { TestServer } from './helpers';

describe('token routes', () => {
  let lk: TestServer;
  let write: string;

  beforeAll(async () => {
    lk = await startTestServer({ LIVEKIT_TOKEN_MAX_TTL_SECONDS: '3600' });
    write = await testToken(['write']);
  });

  afterAll(async () => {
    await lk.stop();
    await socketsClosed();
  });

  async function generate(body: object, token = write) {
    return adminFetch(lk.clientUrl, '/api/token/generate', token, { method: 'POST', body });
  }

  it('issues LiveKit tokens the SDK verifier accepts, with nbf in the past', async () => {
    const before = Math.floor(Date.now() / 1000);
    const issued = await generate({ identity: 'alice', name: 'Alice', room: 'tok', grants: { roomJoin: true, canPublish: false }, ttlSeconds: 600 });
    expect(issued.status).toBe(201);
    const claims = await new TokenVerifier(lk.apiKey, lk.apiSecret).verify(issued.body.token);
    expect(claims.sub).toBe('alice');
    expect(claims.name).toBe('Alice');
    expect(claims.video).toMatchObject({ roomJoin: true, room: 'tok', canPublish: false });
    const raw = decodeJwt(issued.body.token);
    expect(raw.iss).toBe(lk.apiKey);
    expect(raw.nbf).toBeLessThan(before);
    expect(raw.exp! - raw.nbf!).toBeGreaterThanOrEqual(600);
  });

  it('bounds the expiry and validates the request', async () => {
    const tooLong = await generate({ identity: 'alice', room: 'tok', ttlSeconds: 7200 });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.details[0].field).toBe('body.ttlSeconds');
    const noRoom = await generate({ identity: 'alice', grants: { roomJoin: true } });
    expect(noRoom.status).toBe(400);
    const readOnly = await generate({ identity: 'alice', room: 'tok' }, await testToken(['read']));
    expect(readOnly.status).toBe(403);
    const anonymous = await fetch(`${lk.clientUrl}/api/token/generate`, { method: 'POST' });
    expect(anonymous.status).toBe(401);
  });

  it('validate gives a fixed reason word per failure', async () => {
    const now = Math.floor(Date.now() / 1000);
    const secret = new TextEncoder().encode(lk.apiSecret);
    const expired = await new SignJWT({ sub: 'old', video: { roomJoin: true, room: 'tok' } })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(lk.apiKey)
      .setExpirationTime(now - 3600)
      .sign(secret);
    const otherSecret = await new AccessToken(lk.apiKey, 'x'.repeat(40), { identity: 'eve' }).toJwt();

    const expiredResult = await adminFetch(lk.clientUrl, '/api/token/validate', '', { method: 'POST', body: { token: expired } });
    const signatureResult = await adminFetch(lk.clientUrl, '/api/token/validate', '', { method: 'POST', body: { token: otherSecret } });

    expect(expiredResult.status).toBe(200);
    expect(expiredResult.body).toEqual({ valid: false, reason: 'expired', message: 'the access token has expired' });
    expect(signatureResult.body.valid).toBe(false);
    expect(signatureResult.body.reason).toBe('invalid_signature');
  });

  it('validate rejects unusable bodies with 400 naming body.token', async () => {
    const cases: { name: string; headers: Record<string, string>; body?: string }[] = [
      { name: 'no body', headers: {} },
      { name: 'empty object', headers: { 'Content-Type': 'application/json' }, body: '{}' },
      { name: 'token of the wrong type', headers: { 'Content-Type': 'application/json' }, body: '{"token":42}' },
    ];
    for (const { name, headers, body } of cases) {
      const response = await fetch(`${lk.clientUrl}/api/token/validate`, { method: 'POST', headers, body });
      const envelope = (await response.json()) as any;

      expect({ name, status: response.status }).toEqual({ name, status: 400 });
      expect({ name, code: envelope.code }).toEqual({ name, code: 'invalid_argument' });
      expect({ name, field: envelope.details[0].field }).toEqual({ name, field: 'body.token' });
      expect(JSON.stringify(envelope)).not.toContain('Cannot read');
    }
  });

  it('refresh answers 422 for an invalid body token', async () => {
    const response = await adminFetch(lk.clientUrl, '/api/token/refresh', write, { method: 'POST', body: { token: 'a.b.c' } });

    expect(response.status).toBe(422);
    expect(response.body.code).toBe('unprocessable_entity');
    expect(response.body.details[0].field).toBe('body.token');
  });

  it('validates, describes and refreshes tokens', async () => {
    const issued = await generate({ identity: 'bob', room: 'tok', ttlSeconds: 120 });
    const valid = await adminFetch(lk.clientUrl, '/api/token/validate', '', { method: 'POST', body: { token: issued.body.token, room: 'tok' } });
    expect(valid.body).toMatchObject({ valid: true, identity: 'bob', room: 'tok' });
    const otherRoom = await adminFetch(lk.clientUrl, '/api/token/validate', '', { method: 'POST', body: { token: issued.body.token, room: 'else' } });
    expect(otherRoom.body.valid).toBe(false);
    expect(otherRoom.body.reason).toBe('wrong_room');
    const garbage = await adminFetch(lk.clientUrl, '/api/token/validate', '', { method: 'POST', body: { token: 'a.b.c' } });
    expect(garbage.body).toEqual({ valid: false, reason: 'malformed', message: 'the access token is malformed' });

    const info = await adminFetch(lk.clientUrl, '/api/token/info', issued.body.token);
    expect(info.body).toMatchObject({ identity: 'bob', room: 'tok', issuer: lk.apiKey });
    expect((await fetch(`${lk.clientUrl}/api/token/info`)).status).toBe(401);

    const refreshed = await adminFetch(lk.clientUrl, '/api/token/refresh', write, { method: 'POST', body: { token: issued.body.token, ttlSeconds: 900 } });
    expect(refreshed.status).toBe(201);
    const claims = await new TokenVerifier(lk.apiKey, lk.apiSecret).verify(refreshed.body.token);
    expect(claims.sub).toBe('bob');
    expect(claims.video).toMatchObject({ roomJoin: true, room: 'tok' });
    expect(decodeJwt(refreshed.body.token).exp!).toBeGreaterThan(decodeJwt(issued.body.token).exp!);
  });

  it('relays signalling over HTTP to a connected participant', async () => {
    const bob = await SignalClient.connect(lk.wsUrl, 'http-relay', await joinToken(lk, 'bob', 'http-relay'));
    const alice = await joinToken(lk, 'alice', 'http-relay');
    const sent = await adminFetch(lk.clientUrl, '/api/signal/offer', alice, { method: 'POST', body: { room: 'http-relay', to: 'bob', sdp: 'v=0' } });
    expect(sent.status).toBe(202);
    expect(await bob.next('offer')).toEqual({ type: 'offer', from: 'alice', sdp: 'v=0' });
    const missing = await adminFetch(lk.clientUrl, '/api/signal/answer', alice, { method: 'POST', body: { room: 'http-relay', to: 'ghost', sdp: 'v=0' } });
    expect(missing.status).toBe(404);
    const wrongRoom = await adminFetch(lk.clientUrl, '/api/signal/answer', alice, { method: 'POST', body: { room: 'other', to: 'bob', sdp: 'v=0' } });
    expect(wrongRoom.status).toBe(403);
    const invalid = await adminFetch(lk.clientUrl, '/api/signal/ice-candidate', alice, { method: 'POST', body: { room: 'http-relay', to: 'bob' } });
    expect(invalid.status).toBe(400);
    bob.close();
  });
});

describe('livekit-server commands', () => {
  let lk: Awaited<ReturnType<typeof startTestServer>>;
  let commands: CommandClient;

  beforeAll(async () => {
    lk = await startTestServer();
    const logger = createLogger({ service: 'test', level: 'error' } as never);
    commands = new CommandClient({ redisUrl: process.env.REDIS_URL!, prefix: lk.prefix, logger });
  });

  afterAll(async () => {
    await commands.close();
    await lk.stop();
    await socketsClosed();
  });

  it('creates a room idempotently with its linked stream', async () => {
    const first = await commands.send('livekit-server', 'room.create', { name: 'cmd-room', linkedStream: { app: 'live', name: 'show' } });
    expect(first).toMatchObject({ name: 'cmd-room', created: true });
    const second = await commands.send('livekit-server', 'room.create', { name: 'cmd-room' });
    expect(second).toEqual({ sid: first.sid, name: 'cmd-room', created: false });
    const { body } = await adminFetch(lk.adminUrl, '/api/rooms/cmd-room', await testToken(['read']));
    expect(body.linkedStream).toEqual({ app: 'live', name: 'show' });
  });

  it('ends and deletes rooms', async () => {
    await commands.send('livekit-server', 'room.create', { name: 'cmd-end' });
    const alice = await SignalClient.connect(lk.wsUrl, 'cmd-end', await joinToken(lk, 'alice', 'cmd-end'));
    expect(await commands.send('livekit-server', 'room.end', { name: 'cmd-end' })).toEqual({ name: 'cmd-end', ended: true });
    expect(await alice.closed()).toBe(4000);
    expect(await commands.send('livekit-server', 'room.end', { name: 'cmd-end' })).toEqual({ name: 'cmd-end', ended: false });
    expect(await commands.send('livekit-server', 'room.delete', { name: 'cmd-room' })).toEqual({ name: 'cmd-room', deleted: true });
  });

  it('rejects an invalid payload without retrying', async () => {
    await expect(commands.send('livekit-server', 'room.create', { name: 'bad name!' })).rejects.toMatchObject({ code: 'invalid_argument' });
  });

  it('applies settings and reports what changed', async () => {
    const result = await commands.send('livekit-server', 'config.apply', { settings: { maxParticipants: 3, duplicateIdentity: 'reject', region: 'eu' } });
    expect(result).toEqual({ changed: { maxParticipants: { from: 0, to: 3 }, duplicateIdentity: { from: 'replace', to: 'reject' } }, ignored: ['region'] });
    const created = await commands.send('livekit-server', 'room.create', { name: 'cmd-defaults' });
    expect(created.created).toBe(true);
    const { body } = await adminFetch(lk.adminUrl, '/api/rooms/cmd-defaults', await testToken(['read']));
    expect(body.maxParticipants).toBe(3);
    await expect(commands.send('livekit-server', 'config.apply', { settings: { maxParticipants: -5 } })).rejects.toMatchObject({
      code: 'invalid_argument',
    });
  });
});
