import { randomBytes } from 'node:crypto';

import { apiKeyEntry, testToken, waitFor } from '@castplane/testing';

import { SignalClient, adminFetch, joinToken, startTestServer, socketsClosed } from './helpers';
import type { TestServer } from './helpers';

describe('admin API', () => {
  let lk: TestServer;
  let write: string;
  let read: string;
  const readKey = randomBytes(16).toString('hex');
  const clients: SignalClient[] = [];

  beforeAll(async () => {
    lk = await startTestServer({ API_KEYS: apiKeyEntry('viewer', readKey, ['read']) });
    write = await testToken(['write']);
    read = await testToken(['read']);
  });

  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  afterAll(async () => {
    await lk.stop();
    await socketsClosed();
  });

  async function join(room: string, identity: string) {
    const client = await SignalClient.connect(lk.wsUrl, room, await joinToken(lk, identity, room));
    clients.push(client);
    return client;
  }

  describe('rooms', () => {
    it('creates a room once and returns it again', async () => {
      const first = await adminFetch(lk.adminUrl, '/api/rooms', write, { method: 'POST', body: { name: 'admin-room', maxParticipants: 4 } });
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({ name: 'admin-room', maxParticipants: 4, created: true });
      const second = await adminFetch(lk.adminUrl, '/api/rooms', write, { method: 'POST', body: { name: 'admin-room' } });
      expect(second.status).toBe(200);
      expect(second.body).toMatchObject({ sid: first.body.sid, created: false });
      const listed = await adminFetch(lk.adminUrl, '/api/rooms', read);
      expect(listed.body.rooms.map((room: { name: string }) => room.name)).toContain('admin-room');
      const fetched = await adminFetch(lk.adminUrl, '/api/rooms/admin-room', read);
      expect(fetched.body).toMatchObject({ name: 'admin-room', numParticipants: 0 });
    });

    it('rejects invalid input with the failing field', async () => {
      const invalid = await adminFetch(lk.adminUrl, '/api/rooms', write, { method: 'POST', body: { name: 'bad name!', maxParticipants: -1 } });
      expect(invalid.status).toBe(400);
      expect(invalid.body.details.map((detail: { field: string }) => detail.field).sort()).toEqual(['body.maxParticipants', 'body.name']);
      const badId = await adminFetch(lk.adminUrl, '/api/rooms/bad%20id', read);
      expect(badId.status).toBe(400);
    });

    it('requires credentials and the write scope', async () => {
      const anonymous = await fetch(`${lk.adminUrl}/api/rooms`);
      expect(anonymous.status).toBe(401);
      const readOnly = await adminFetch(lk.adminUrl, '/api/rooms', read, { method: 'POST', body: { name: 'nope' } });
      expect(readOnly.status).toBe(403);
      const withKey = await fetch(`${lk.adminUrl}/api/rooms`, { headers: { 'X-API-Key': readKey } });
      expect(withKey.status).toBe(200);
    });

    it('starts and ends a room, disconnecting everyone', async () => {
      const started = await adminFetch(lk.adminUrl, '/api/rooms/admin-end/start', write, { method: 'POST', body: {} });
      expect(started.status).toBe(201);
      const alice = await join('admin-end', 'alice');
      const ended = await adminFetch(lk.adminUrl, '/api/rooms/admin-end/end', write, { method: 'POST' });
      expect(ended.body).toEqual({ name: 'admin-end', ended: true, disconnected: 1 });
      expect(await alice.next('room-ended')).toMatchObject({ type: 'room-ended' });
      expect(await alice.closed()).toBe(4000);
      expect((await adminFetch(lk.adminUrl, '/api/rooms/admin-end', read)).status).toBe(404);
      expect((await adminFetch(lk.adminUrl, '/api/rooms/admin-end/end', write, { method: 'POST' })).status).toBe(404);
    });

    it('deletes a room', async () => {
      await adminFetch(lk.adminUrl, '/api/rooms', write, { method: 'POST', body: { name: 'admin-delete' } });
      expect((await adminFetch(lk.adminUrl, '/api/rooms/admin-delete', write, { method: 'DELETE' })).status).toBe(204);
      expect((await adminFetch(lk.adminUrl, '/api/rooms/admin-delete', write, { method: 'DELETE' })).status).toBe(404);
    });
  });

  describe('participants and tracks', () => {
    it('mutes and unmutes all tracks and tells the participant', async () => {
      const alice = await join('admin-people', 'alice');
      alice.send({ type: 'track-publish', kind: 'audio', source: 'microphone' });
      alice.send({ type: 'track-publish', kind: 'video', source: 'camera' });
      await alice.next('track-published');
      await alice.next('track-published');

      const muted = await adminFetch(lk.adminUrl, '/api/rooms/admin-people/participants/alice/mute', write, { method: 'POST' });
      expect(muted.status).toBe(200);
      expect(muted.body.tracks.map((track: { muted: boolean }) => track.muted)).toEqual([true, true]);
      expect((await alice.next('mute-request')).muted).toBe(true);
      expect((await alice.next('mute-request')).muted).toBe(true);

      const unmuted = await adminFetch(lk.adminUrl, '/api/rooms/admin-people/participants/alice/unmute', write, { method: 'POST' });
      expect(unmuted.body.tracks.every((track: { muted: boolean }) => !track.muted)).toBe(true);
      expect((await alice.next('mute-request')).muted).toBe(false);

      const fetched = await adminFetch(lk.adminUrl, '/api/rooms/admin-people/participants/alice', read);
      expect(fetched.body.tracks).toHaveLength(2);
      expect((await adminFetch(lk.adminUrl, '/api/rooms/admin-people/participants/ghost', read)).status).toBe(404);
    });

    it('disables, enables and removes tracks', async () => {
      const bob = await join('admin-tracks', 'bob');
      bob.send({ type: 'track-publish', kind: 'video', source: 'camera' });
      const { track } = await bob.next('track-published');

      const listed = await adminFetch(lk.adminUrl, '/api/rooms/admin-tracks/tracks', read);
      expect(listed.body.tracks).toEqual([expect.objectContaining({ sid: track.sid, identity: 'bob', disabled: false })]);

      const disabled = await adminFetch(lk.adminUrl, `/api/rooms/admin-tracks/tracks/${track.sid}/disable`, write, { method: 'POST' });
      expect(disabled.body.disabled).toBe(true);
      expect((await bob.next('track-disable-request')).trackSid).toBe(track.sid);
      const enabled = await adminFetch(lk.adminUrl, `/api/rooms/admin-tracks/tracks/${track.sid}/enable`, write, { method: 'POST' });
      expect(enabled.body.disabled).toBe(false);

      expect((await adminFetch(lk.adminUrl, `/api/rooms/admin-tracks/tracks/${track.sid}`, write, { method: 'DELETE' })).status).toBe(204);
      expect((await bob.next('track-removed')).trackSid).toBe(track.sid);
      expect((await adminFetch(lk.adminUrl, '/api/rooms/admin-tracks/tracks', read)).body.tracks).toEqual([]);
      expect((await adminFetch(lk.adminUrl, '/api/rooms/admin-tracks/tracks/TR_missing', write, { method: 'DELETE' })).status).toBe(404);
      expect((await adminFetch(lk.adminUrl, '/api/rooms/admin-tracks/tracks/nope/enable', write, { method: 'POST' })).status).toBe(400);
    });

    it('removes a participant', async () => {
      const carol = await join('admin-kick', 'carol');
      expect((await adminFetch(lk.adminUrl, '/api/rooms/admin-kick/participants/carol', write, { method: 'DELETE' })).status).toBe(204);
      expect(await carol.closed()).toBe(4001);
      const listed = await adminFetch(lk.adminUrl, '/api/rooms/admin-kick/participants', read);
      expect(listed.body.participants).toEqual([]);
    });
  });

  describe('recording', () => {
    it('answers 409 for a room without a media source', async () => {
      await adminFetch(lk.adminUrl, '/api/rooms', write, { method: 'POST', body: { name: 'admin-rec' } });
      const started = await adminFetch(lk.adminUrl, '/api/recording/start', write, { method: 'POST', body: { roomId: 'admin-rec' } });
      expect(started.status).toBe(409);
      expect(started.body.message).toMatch(/no media source/);
      const status = await adminFetch(lk.adminUrl, '/api/recording/status/admin-rec', read);
      expect(status.body).toMatchObject({ roomId: 'admin-rec', recording: false, mediaSource: null, recordings: [] });
    });

    it('links a stream and validates recording requests', async () => {
      const linked = await adminFetch(lk.adminUrl, '/api/rooms/admin-rec/linked-stream', write, {
        method: 'PUT',
        body: { linkedStream: { app: 'live', name: 'show' } },
      });
      expect(linked.body.linkedStream).toEqual({ app: 'live', name: 'show' });
      const stopNothing = await adminFetch(lk.adminUrl, '/api/recording/stop', write, { method: 'POST', body: { roomId: 'admin-rec' } });
      expect(stopNothing.status).toBe(409);
      const both = await adminFetch(lk.adminUrl, '/api/recording/stop', write, { method: 'POST', body: { roomId: 'admin-rec', egressId: 'EG_x' } });
      expect(both.status).toBe(400);
      const unknown = await adminFetch(lk.adminUrl, '/api/recording/status/no-room', read);
      expect(unknown.status).toBe(404);
      const list = await adminFetch(lk.adminUrl, '/api/recording/list?roomId=admin-rec', read);
      expect(list.body).toEqual({ recordings: [] });
    });
  });

  describe('stats', () => {
    it('counts rooms, participants and relayed messages', async () => {
      const alice = await join('admin-stats', 'alice');
      const bob = await join('admin-stats', 'bob');
      alice.send({ type: 'offer', to: 'bob', sdp: 'v=0' });
      await bob.next('offer');
      const server = await adminFetch(lk.adminUrl, '/api/stats/server', read);
      expect(server.body.participants).toBeGreaterThanOrEqual(2);
      expect(server.body.messagesRelayed).toBeGreaterThanOrEqual(1);
      const rooms = await adminFetch(lk.adminUrl, '/api/stats/rooms', read);
      const room = rooms.body.rooms.find((entry: { name: string }) => entry.name === 'admin-stats');
      expect(room).toMatchObject({ participants: 2, messagesRelayed: 1 });
      const participants = await waitFor(async () => (await adminFetch(lk.adminUrl, '/api/stats/participants', read)).body.participants);
      const aliceStats = participants.find((entry: { room: string; identity: string }) => entry.room === 'admin-stats' && entry.identity === 'alice');
      expect(aliceStats.messagesRelayed).toBe(1);
      expect(aliceStats.connectedSeconds).toBeGreaterThanOrEqual(0);
    });
  });
});
