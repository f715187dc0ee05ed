import { AccessToken, EgressClient, RoomServiceClient, TrackType } from 'livekit-server-sdk';

import { waitFor } from '@castplane/testing';

import { SignalClient, joinToken, startTestServer, socketsClosed } from './helpers';
import type { TestServer } from './helpers';

describe('Twirp RoomService with livekit-server-sdk', () => {
  let lk: TestServer;
  let rooms: RoomServiceClient;
  const clients: SignalClient[] = [];

  beforeAll(async () => {
    lk = await startTestServer();
    rooms = new RoomServiceClient(lk.clientUrl, lk.apiKey, lk.apiSecret);
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

  it('creates, lists and deletes rooms', async () => {
    const created = await rooms.createRoom({ name: 'sdk-room-1', emptyTimeout: 120, maxParticipants: 5, metadata: '{"a":1}' });
    expect(created.name).toBe('sdk-room-1');
    expect(created.sid).toMatch(/^RM_[A-Za-z0-9]{12}$/);
    expect(created.emptyTimeout).toBe(120);
    expect(created.maxParticipants).toBe(5);
    expect(created.metadata).toBe('{"a":1}');
    expect(created.enabledCodecs.map((codec) => codec.mime)).toContain('video/VP8');

    const again = await rooms.createRoom({ name: 'sdk-room-1' });
    expect(again.sid).toBe(created.sid);

    const listed = await rooms.listRooms();
    expect(listed.map((room) => room.name)).toContain('sdk-room-1');
    const named = await rooms.listRooms(['sdk-room-1', 'no-such-room']);
    expect(named.map((room) => room.name)).toEqual(['sdk-room-1']);

    await rooms.deleteRoom('sdk-room-1');
    expect((await rooms.listRooms()).map((room) => room.name)).not.toContain('sdk-room-1');
  });

  it('updates room metadata and tells participants', async () => {
    await rooms.createRoom({ name: 'sdk-meta' });
    const alice = await join('sdk-meta', 'alice');
    const updated = await rooms.updateRoomMetadata('sdk-meta', 'new-metadata');
    expect(updated.metadata).toBe('new-metadata');
    expect(updated.numParticipants).toBe(1);
    const pushed = await alice.next('room-updated');
    expect(pushed.room.metadata).toBe('new-metadata');
  });

  it('lists, gets, updates, mutes and removes participants', async () => {
    await rooms.createRoom({ name: 'sdk-people' });
    const alice = await join('sdk-people', 'alice');
    const bob = await join('sdk-people', 'bob');
    alice.send({ type: 'track-publish', kind: 'audio', name: 'mic', source: 'microphone' });
    const { track } = await alice.next('track-published');

    const listed = await rooms.listParticipants('sdk-people');
    expect(listed.map((participant) => participant.identity).sort()).toEqual(['alice', 'bob']);

    const fetched = await rooms.getParticipant('sdk-people', 'alice');
    expect(fetched.sid).toMatch(/^PA_/);
    expect(fetched.tracks).toHaveLength(1);
    expect(fetched.tracks[0].type).toBe(TrackType.AUDIO);

    const renamed = await rooms.updateParticipant('sdk-people', 'alice', { metadata: '{"role":"host"}', name: 'Alice', attributes: { team: 'blue' } });
    expect(renamed.metadata).toBe('{"role":"host"}');
    expect(renamed.name).toBe('Alice');
    expect(renamed.attributes).toEqual({ team: 'blue' });

    const muted = await rooms.mutePublishedTrack('sdk-people', 'alice', track.sid, true);
    expect(muted.sid).toBe(track.sid);
    expect(muted.muted).toBe(true);
    const request = await alice.next('mute-request');
    expect(request).toMatchObject({ trackSid: track.sid, muted: true });
    const seen = await bob.next('track-muted');
    expect(seen).toMatchObject({ identity: 'alice', trackSid: track.sid, muted: true });

    await rooms.removeParticipant('sdk-people', 'bob');
    expect(await bob.next('kicked')).toMatchObject({ type: 'kicked' });
    expect(await bob.closed()).toBe(4001);
    await alice.next('participant-left', (message) => message.identity === 'bob');
    expect((await rooms.listParticipants('sdk-people')).map((participant) => participant.identity)).toEqual(['alice']);
  });

  it('sends data to named participants', async () => {
    await rooms.createRoom({ name: 'sdk-data' });
    const alice = await join('sdk-data', 'alice');
    const bob = await join('sdk-data', 'bob');
    await rooms.sendData('sdk-data', new TextEncoder().encode('hello'), 0, { destinationIdentities: ['bob'], topic: 'chat' });
    const data = await bob.next('data');
    expect(Buffer.from(data.payload, 'base64').toString()).toBe('hello');
    expect(data.topic).toBe('chat');
    expect(alice.messages.filter((message) => message.type === 'data')).toHaveLength(0);
  });

  it('rejects room names the admin API rejects', async () => {
    for (const name of ['../x', 'a b', 'x'.repeat(129)]) {
      await expect(rooms.createRoom({ name })).rejects.toMatchObject({
        code: 'invalid_argument',
        status: 400,
        message: 'name must be 1-128 letters, digits or _.:@-',
        metadata: { argument: 'name' },
      });
    }
    await expect(rooms.deleteRoom('../x')).rejects.toMatchObject({ code: 'invalid_argument', metadata: { argument: 'room' } });
    await expect(rooms.listParticipants('a/b')).rejects.toMatchObject({ code: 'invalid_argument', metadata: { argument: 'room' } });
    expect((await rooms.listRooms()).map((room) => room.name)).not.toContain('../x');
  });

  it('checks the token before reading the body', async () => {
    const body = JSON.stringify({ name: 'big', metadata: 'x'.repeat(2 * 1024 * 1024) });
    const headers = { 'Content-Type': 'application/json' };
    const anonymous = await fetch(`${lk.clientUrl}/twirp/livekit.RoomService/CreateRoom`, { method: 'POST', headers, body });
    const anonymousMalformed = await fetch(`${lk.clientUrl}/twirp/livekit.RoomService/CreateRoom`, { method: 'POST', headers, body: '{"name":' });

    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toBe('application/json');
    expect(((await anonymous.json()) as any).code).toBe('unauthenticated');
    expect(anonymousMalformed.status).toBe(401);

    const auth = new AccessToken(lk.apiKey, lk.apiSecret, { ttl: '10m' });
    auth.addGrant({ roomCreate: true });
    const authorized = await fetch(`${lk.clientUrl}/twirp/livekit.RoomService/CreateRoom`, {
      method: 'POST',
      headers: { ...headers, Authorization: `Bearer ${await auth.toJwt()}` },
      body,
    });
    expect(authorized.status).toBe(400);
    expect(((await authorized.json()) as any).code).toBe('invalid_argument');
  });

  it('rejects unknown rooms and participants with not_found', async () => {
    await expect(rooms.listParticipants('missing-room')).rejects.toMatchObject({ code: 'not_found', status: 404 });
    await expect(rooms.deleteRoom('missing-room')).rejects.toMatchObject({ code: 'not_found' });
    await rooms.createRoom({ name: 'sdk-empty' });
    await expect(rooms.getParticipant('sdk-empty', 'nobody')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('rejects calls without the needed grant as unauthenticated', async () => {
    const token = new AccessToken(lk.apiKey, lk.apiSecret, { identity: 'guest', ttl: '10m' });
    token.addGrant({ roomJoin: true, room: 'sdk-grants' });
    const participantOnly = new RoomServiceClient(lk.clientUrl, undefined, undefined, { token: await token.toJwt() } as never);
    await expect(participantOnly.createRoom({ name: 'sdk-grants' })).rejects.toMatchObject({
      code: 'unauthenticated',
      status: 401,
      message: 'permissions denied',
    });
    const wrongSecret = new RoomServiceClient(lk.clientUrl, lk.apiKey, 'x'.repeat(40));
    await expect(wrongSecret.listRooms()).rejects.toMatchObject({ code: 'unauthenticated' });

    const otherRoom = new AccessToken(lk.apiKey, lk.apiSecret, { ttl: '10m' });
    otherRoom.addGrant({ roomAdmin: true, room: 'another-room' });
    const adminOfOther = new RoomServiceClient(lk.clientUrl, undefined, undefined, { token: await otherRoom.toJwt() } as never);
    await expect(adminOfOther.listParticipants('sdk-grants')).rejects.toMatchObject({ code: 'unauthenticated' });
  });

  it('answers unknown methods, bad JSON and invalid input in Twirp form', async () => {
    const auth = new AccessToken(lk.apiKey, lk.apiSecret, { ttl: '10m' });
    auth.addGrant({ roomCreate: true });
    const headers = { Authorization: `Bearer ${await auth.toJwt()}`, 'Content-Type': 'application/json' };

    const unknown = await fetch(`${lk.clientUrl}/twirp/livekit.RoomService/Nope`, { method: 'POST', headers, body: '{}' });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toBe('application/json');
    expect(await unknown.json()).toEqual({
      code: 'bad_route',
      msg: 'no handler for path "/twirp/livekit.RoomService/Nope"',
      meta: { twirp_invalid_route: 'POST /twirp/livekit.RoomService/Nope' },
    });

    const getMethod = await fetch(`${lk.clientUrl}/twirp/livekit.RoomService/ListRooms`);
    expect(getMethod.status).toBe(404);
    expect(((await getMethod.json()) as any).code).toBe('bad_route');

    const malformed = await fetch(`${lk.clientUrl}/twirp/livekit.RoomService/CreateRoom`, { method: 'POST', headers, body: '{"name":' });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({ code: 'malformed', msg: 'the json request could not be decoded' });

    const invalid = await fetch(`${lk.clientUrl}/twirp/livekit.RoomService/CreateRoom`, { method: 'POST', headers, body: '{"emptyTimeout":-1}' });
    expect(invalid.status).toBe(400);
    const body = (await invalid.json()) as any;
    expect(body.code).toBe('invalid_argument');
    expect(body.meta.argument).toBe('name');

    const tooLarge = await fetch(`${lk.clientUrl}/twirp/livekit.RoomService/CreateRoom`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'big', metadata: 'x'.repeat(70 * 1024) }),
    });
    expect(tooLarge.status).toBe(400);
    expect(((await tooLarge.json()) as any).code).toBe('invalid_argument');
  });

  it('answers the LiveKit health check on /', async () => {
    const response = await fetch(`${lk.clientUrl}/`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('OK');
  });

  it('lists participants of a room joined only through signalling', async () => {
    await join('sdk-auto', 'carol');
    const listed = await waitFor(async () => {
      const participants = await rooms.listParticipants('sdk-auto');
      return participants.length === 1 ? participants : undefined;
    });
    expect(listed[0].identity).toBe('carol');
  });
});

describe('Twirp Egress with livekit-server-sdk', () => {
  let lk: TestServer;
  let egress: EgressClient;
  let rooms: RoomServiceClient;

  beforeAll(async () => {
    lk = await startTestServer({ LIVEKIT_ENCODER_TIMEOUT_MS: '1000' });
    egress = new EgressClient(lk.clientUrl, lk.apiKey, lk.apiSecret);
    rooms = new RoomServiceClient(lk.clientUrl, lk.apiKey, lk.apiSecret);
  });

  afterAll(async () => {
    await lk.stop();
    await socketsClosed();
  });

  it('rejects a room composite egress for a room without a media source', async () => {
    await rooms.createRoom({ name: 'egress-no-source' });
    await expect(
      egress.startRoomCompositeEgress('egress-no-source', { file: { filepath: 'out.mp4' } } as never),
    ).rejects.toMatchObject({ code: 'failed_precondition', status: 412 });
  });

  it('rejects an egress for an unknown room with not_found', async () => {
    await expect(egress.startRoomCompositeEgress('egress-missing', { file: { filepath: 'out.mp4' } } as never)).rejects.toMatchObject({
      code: 'not_found',
    });
  });

  it('lists no egress for a fresh room and stops unknown ones with not_found', async () => {
    expect(await egress.listEgress({ roomName: 'egress-no-source' })).toEqual([]);
    await expect(egress.stopEgress('EG_unknown00000')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('rejects egress calls without roomRecord', async () => {
    const token = new AccessToken(lk.apiKey, lk.apiSecret, { ttl: '10m' });
    token.addGrant({ roomAdmin: true, room: 'egress-no-source' });
    const client = new EgressClient(lk.clientUrl, undefined, undefined, { token: await token.toJwt() } as never);
    await expect(client.listEgress({})).rejects.toMatchObject({ code: 'unauthenticated', status: 401 });
  });
});
