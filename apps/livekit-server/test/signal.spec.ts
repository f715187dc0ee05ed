import { AccessToken, TrackSource } from 'livekit-server-sdk';
import { SignJWT } from 'jose';

import { testToken, waitFor } from '@castplane/testing';

import { SignalClient, adminFetch, joinToken, startTestServer, socketsClosed } from './helpers';
import type { TestServer } from './helpers';

describe('WebSocket /signal/{room}', () => {
  let lk: TestServer;
  let admin: string;
  const clients: SignalClient[] = [];

  beforeAll(async () => {
    lk = await startTestServer({ LIVEKIT_MAX_SIGNAL_MESSAGE_BYTES: '2048', LIVEKIT_HEARTBEAT_INTERVAL_MS: '2000' });
    admin = await testToken(['admin']);
  });

  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  afterAll(async () => {
    await lk.stop();
    await socketsClosed();
  });

  async function join(room: string, identity: string, grants = {}) {
    const client = await SignalClient.connect(lk.wsUrl, room, await joinToken(lk, identity, room, grants));
    clients.push(client);
    return client;
  }

  async function identities(room: string): Promise<string[]> {
    const { body } = await adminFetch(lk.adminUrl, `/api/rooms/${room}/participants`, admin);
    return body.participants.map((participant: { identity: string }) => participant.identity).sort();
  }

  it('relays offer, answer and candidate', async () => {
    const alice = await join('relay', 'alice');
    const bob = await join('relay', 'bob');
    const joined = await alice.next('participant-joined');
    expect(joined.participant.identity).toBe('bob');
    expect(joined.participant.nodeId).toBeUndefined();

    alice.send({ type: 'offer', to: 'bob', sdp: 'v=0 offer' });
    expect(await bob.next('offer')).toEqual({ type: 'offer', from: 'alice', sdp: 'v=0 offer' });
    bob.send({ type: 'answer', to: 'alice', sdp: 'v=0 answer' });
    expect(await alice.next('answer')).toEqual({ type: 'answer', from: 'bob', sdp: 'v=0 answer' });
    const candidate = { candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 };
    alice.send({ type: 'ice-candidate', to: 'bob', candidate });
    expect(await bob.next('ice-candidate')).toEqual({ type: 'ice-candidate', from: 'alice', candidate });
  });

  it('sends the joining participant the others already in the room', async () => {
    await join('snapshot', 'first');
    const token = await joinToken(lk, 'second', 'snapshot');
    const socket = new (await import('ws')).default(`${lk.wsUrl}/signal/snapshot`, { headers: { Authorization: `Bearer ${token}` } });
    const first = await new Promise<any>((resolve) => socket.once('message', (data) => resolve(JSON.parse(data.toString()))));
    socket.close();
    expect(first.type).toBe('joined');
    expect(first.participant.identity).toBe('second');
    expect(first.participants.map((p: { identity: string }) => p.identity)).toEqual(['first']);
  });

  it('rejects an expired token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ video: { roomJoin: true, room: 'tokens' } })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(lk.apiKey)
      .setSubject('late')
      .setNotBefore(now - 7200)
      .setExpirationTime(now - 3600)
      .sign(new TextEncoder().encode(lk.apiSecret));
    const result = await SignalClient.rejected(`${lk.wsUrl}/signal/tokens?access_token=${expired}`);
    expect(result.status).toBe(401);
    expect(result.body).toMatchObject({ code: 'unauthenticated', message: 'the access token has expired' });
  });

  it('rejects unusable or missing tokens', async () => {
    const noExp = await new SignJWT({ video: { roomJoin: true, room: 'tokens' } })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(lk.apiKey)
      .setSubject('forever')
      .sign(new TextEncoder().encode(lk.apiSecret));
    expect((await SignalClient.rejected(`${lk.wsUrl}/signal/tokens?access_token=${noExp}`)).status).toBe(401);

    const other = await joinToken(lk, 'mallory', 'other-room');
    const wrongRoom = await SignalClient.rejected(`${lk.wsUrl}/signal/tokens?access_token=${other}`);
    expect(wrongRoom.status).toBe(403);
    expect(wrongRoom.body.message).toBe('the access token is for room "other-room", not "tokens"');

    const listOnly = new AccessToken(lk.apiKey, lk.apiSecret, { identity: 'lister', ttl: '5m' });
    listOnly.addGrant({ roomList: true, room: 'tokens' });
    const noJoin = await SignalClient.rejected(`${lk.wsUrl}/signal/tokens?access_token=${await listOnly.toJwt()}`);
    expect(noJoin.status).toBe(403);
    expect(noJoin.body.message).toMatch(/roomJoin/);

    const missing = await SignalClient.rejected(`${lk.wsUrl}/signal/tokens`);
    expect(missing.status).toBe(401);

    const foreign = new AccessToken('APIother', lk.apiSecret, { identity: 'x', ttl: '5m' });
    foreign.addGrant({ roomJoin: true, room: 'tokens' });
    expect((await SignalClient.rejected(`${lk.wsUrl}/signal/tokens?access_token=${await foreign.toJwt()}`)).status).toBe(401);

    expect((await SignalClient.rejected(`${lk.wsUrl}/elsewhere`)).status).toBe(404);
    const { body } = await adminFetch(lk.adminUrl, '/api/rooms/tokens', admin);
    expect(body.code).toBe('not_found');
  });

  it('answers malformed, unknown, invalid and oversized messages with errors and keeps the socket', async () => {
    const alice = await join('errors', 'alice');
    alice.socket.send('{not json');
    expect(await alice.next('error')).toMatchObject({ code: 'malformed' });
    alice.send({ type: 'teleport' });
    expect(await alice.next('error')).toMatchObject({ code: 'invalid_argument', message: 'unknown message type "teleport"' });
    alice.send({ type: 'offer', to: 'bob' });
    expect(await alice.next('error')).toMatchObject({ code: 'invalid_argument', requestType: 'offer', field: 'sdp' });
    alice.send({ type: 'offer', to: 'ghost', sdp: 'v=0' });
    expect(await alice.next('error')).toMatchObject({ code: 'not_found', reason: 'unknown_target', requestType: 'offer' });
    alice.send({ type: 'offer', to: 'bob', sdp: 'x'.repeat(3000) });
    expect(await alice.next('error')).toMatchObject({ code: 'payload_too_large' });
    alice.socket.send(Buffer.from([1, 2, 3]));
    expect(await alice.next('error')).toMatchObject({ code: 'invalid_argument' });

    alice.send({ type: 'ping', id: 7 });
    expect(await alice.next('pong')).toEqual({ type: 'pong', id: 7 });
    expect(await identities('errors')).toEqual(['alice']);
  });

  it('closes sockets over the frame limit', async () => {
    const alice = await join('huge', 'alice');
    alice.send({ type: 'offer', to: 'bob', sdp: 'x'.repeat(2048 * 5) });
    expect(await alice.closed()).toBe(1009);
    await waitFor(async () => (await identities('huge')).length === 0, { what: 'participant removed' });
  });

  it('rejects publishing without canPublish and for sources not granted', async () => {
    const viewer = await join('perms', 'viewer', { canPublish: false });
    viewer.send({ type: 'track-publish', kind: 'video', source: 'camera' });
    expect(await viewer.next('error')).toMatchObject({ code: 'permission_denied', requestType: 'track-publish' });
    const mic = await join('perms', 'mic-only', { canPublishSources: [TrackSource.MICROPHONE] });
    mic.send({ type: 'track-publish', kind: 'video', source: 'camera' });
    expect(await mic.next('error')).toMatchObject({ code: 'permission_denied' });
    mic.send({ type: 'track-publish', kind: 'audio', source: 'microphone' });
    expect((await mic.next('track-published')).track.source).toBe('microphone');
    const { body } = await adminFetch(lk.adminUrl, '/api/rooms/perms/tracks', admin);
    expect(body.tracks).toHaveLength(1);
  });

  it('replaces the earlier connection of the same identity', async () => {
    const first = await join('dupes', 'alice');
    const second = await join('dupes', 'alice');
    expect(await first.closed()).toBe(4002);
    second.send({ type: 'ping' });
    await second.next('pong');
    expect(await identities('dupes')).toEqual(['alice']);
  });

  it('removes the participant when its socket closes', async () => {
    const alice = await join('leaving', 'alice');
    const bob = await join('leaving', 'bob');
    bob.close();
    expect((await alice.next('participant-left')).identity).toBe('bob');
    expect(await identities('leaving')).toEqual(['alice']);
  });

  it('keeps the room limit', async () => {
    await adminFetch(lk.adminUrl, '/api/rooms', admin, { method: 'POST', body: { name: 'small', maxParticipants: 1 } });
    await join('small', 'alice');
    const result = await SignalClient.rejected(`${lk.wsUrl}/signal/small?access_token=${await joinToken(lk, 'bob', 'small')}`);
    expect(result.status).toBe(429);
    expect(result.body.reason).toBe('room_full');
    expect(await identities('small')).toEqual(['alice']);
  });

  it('records client stats for the stats API', async () => {
    const alice = await join('stats', 'alice');
    alice.send({ type: 'client-stats', bitrateKbps: 850, packetLoss: 1.5 });
    const entry = await waitFor(async () => {
      const { body } = await adminFetch(lk.adminUrl, '/api/stats/participants', admin);
      return body.participants.find((p: any) => p.room === 'stats' && p.bitrateKbps === 850);
    });
    expect(entry.packetLoss).toBe(1.5);
    alice.send({ type: 'client-stats', bitrateKbps: -1 });
    expect(await alice.next('error')).toMatchObject({ code: 'invalid_argument', field: 'bitrateKbps' });
  });

  it('closes sockets that stop answering heartbeats', async () => {
    const silent = await join('heartbeat', 'silent');
    // Stop the client from sending pongs, as a dead peer would.
    (silent.socket as any)._receiver.removeAllListeners('ping');
    silent.socket.pong = () => undefined;
    await waitFor(async () => (await identities('heartbeat')).length === 0, { timeoutMs: 15000, what: 'dead peer removed' });
  });
});

describe('WebSocket /signal with the reject policy', () => {
  let lk: TestServer;

  beforeAll(async () => {
    lk = await startTestServer({ LIVEKIT_DUPLICATE_IDENTITY: 'reject', LIVEKIT_AUTO_CREATE_ROOMS: 'false', LIVEKIT_ROOM_SWEEP_INTERVAL_MS: '200' });
  });

  afterAll(async () => {
    await lk.stop();
    await socketsClosed();
  });

  it('rejects a second connection of the same identity and joins to unknown rooms', async () => {
    const admin = await testToken(['admin']);
    expect((await SignalClient.rejected(`${lk.wsUrl}/signal/closed?access_token=${await joinToken(lk, 'a', 'closed')}`)).status).toBe(404);
    await adminFetch(lk.adminUrl, '/api/rooms', admin, { method: 'POST', body: { name: 'unique' } });
    const first = await SignalClient.connect(lk.wsUrl, 'unique', await joinToken(lk, 'alice', 'unique'));
    const second = await SignalClient.rejected(`${lk.wsUrl}/signal/unique?access_token=${await joinToken(lk, 'alice', 'unique')}`);
    expect(second.status).toBe(409);
    expect(second.body.reason).toBe('duplicate_identity');
    first.send({ type: 'ping' });
    await first.next('pong');
    first.close();
  });

  it('closes a room nobody joins within its empty timeout', async () => {
    const admin = await testToken(['admin']);
    await adminFetch(lk.adminUrl, '/api/rooms', admin, { method: 'POST', body: { name: 'idle', emptyTimeout: 1 } });
    await waitFor(async () => (await adminFetch(lk.adminUrl, '/api/rooms/idle', admin)).status === 404, {
      timeoutMs: 15000,
      what: 'idle room closed',
    });
  });
});
