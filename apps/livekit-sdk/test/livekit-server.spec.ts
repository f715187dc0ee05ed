import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

import { RoomServiceClient, TokenVerifier } from 'livekit-server-sdk';
import request from 'supertest';
import WebSocket from 'ws';

import { CommandClient } from '@castplane/redis';
import { ensureBundles, freePort, stopProcess, testToken, uniquePrefix, waitFor } from '@castplane/testing';

import { LIVEKIT_KEY, LIVEKIT_SECRET, startSdk } from './helpers';
import type { StartedSdk } from './helpers';

const ROOT = join(__dirname, '..', '..', '..');

const BUNDLE = join(ROOT, 'dist', 'apps', 'livekit-server', 'main.js');

/** Builds and starts the embedded livekit-server bundle, sending its webhooks to `webhookUrl`. */
async function startLivekitServer(clientPort: number, webhookUrl: string, env: NodeJS.ProcessEnv) {
  ensureBundles(['livekit-server']);
  const child = spawn(process.execPath, [BUNDLE], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      REDIS_URL: env.REDIS_URL,
      REDIS_KEY_PREFIX: uniquePrefix('lkserver'),
      AUTH_JWT_SECRET: env.AUTH_JWT_SECRET,
      LIVEKIT_API_KEY: LIVEKIT_KEY,
      LIVEKIT_API_SECRET: LIVEKIT_SECRET,
      LIVEKIT_CLIENT_PORT: String(clientPort),
      LIVEKIT_ADMIN_PORT: String(await freePort()),
      LIVEKIT_WEBHOOK_URLS: webhookUrl,
      SHUTDOWN_TIMEOUT_MS: '5000',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`livekit-server exited: ${stderr.slice(0, 500)}`);
      return (await fetch(`http://127.0.0.1:${clientPort}/health`)).ok;
    },
    { timeoutMs: 30000, what: 'livekit-server /health' },
  );
  return child;
}

/** Opens a WebSocket and resolves with the first message, or rejects with the handshake status. */
function openSignal(url: string): Promise<{ ws: WebSocket; first: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => reject(new Error('no signal message within 10 s')), 10000);
    ws.once('message', (data: Buffer) => {
      clearTimeout(timer);
      resolve({ ws, first: JSON.parse(data.toString()) as Record<string, unknown> });
    });
    ws.once('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      reject(new Error(`signal handshake answered ${res.statusCode}`));
    });
    ws.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

describe('livekit-sdk against the embedded livekit-server', () => {
  let sdk: StartedSdk;
  let server: ChildProcess;
  let rooms: RoomServiceClient;
  let commands: CommandClient;
  let token: string;
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    const clientPort = await freePort();
    const webhookPort = await freePort();
    const livekitUrl = `http://127.0.0.1:${clientPort}`;
    sdk = await startSdk('lksdkint', { LIVEKIT_URL: livekitUrl, LIVEKIT_SDK_WEBHOOK_PORT: String(webhookPort) });
    server = await startLivekitServer(clientPort, `http://127.0.0.1:${webhookPort}/webhooks/livekit`, sdk.env);
    rooms = new RoomServiceClient(livekitUrl, LIVEKIT_KEY, LIVEKIT_SECRET);
    commands = new CommandClient({ redisUrl: sdk.env.REDIS_URL!, prefix: sdk.env.REDIS_KEY_PREFIX!, logger: sdk.running.logger });
    token = await testToken(['admin']);
  }, 120000);

  afterAll(async () => {
    for (const ws of sockets) ws.terminate();
    await commands?.close();
    if (server) await stopProcess(server);
    await sdk?.stop();
  });

  const api = () => ({
    get: (path: string) => request(sdk.api).get(path).set('Authorization', `Bearer ${token}`),
    post: (path: string) => request(sdk.api).post(path).set('Authorization', `Bearer ${token}`),
    delete: (path: string) => request(sdk.api).delete(path).set('Authorization', `Bearer ${token}`),
  });
  const unique = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;
  const roomExists = async (name: string) => (await rooms.listRooms([name])).some((room) => room.name === name);
  const identities = async (room: string) => (await rooms.listParticipants(room)).map((participant) => participant.identity);

  async function createStream(roomName: string) {
    const response = await api().post('/api/livekit/stream/create').send({ title: 'Launch', hostIdentity: 'host-1', roomName });
    expect(response.status).toBe(201);
    return response.body as { streamId: string; roomName: string };
  }

  async function join(roomName: string, identity: string) {
    const response = await api().post(`/api/livekit/room/${roomName}/join`).send({ identity });
    expect(response.status).toBe(201);
    const opened = await openSignal(`${response.body.signalUrl}?access_token=${encodeURIComponent(response.body.token)}`);
    sockets.push(opened.ws);
    return { ...opened, issued: response.body };
  }

  it('creates the LiveKit room when a broadcast stream is created', async () => {
    const stream = await createStream(unique('launch'));

    expect(await roomExists(stream.roomName)).toBe(true);
  });

  it('returns a join token that livekit-server accepts on /signal', async () => {
    const roomName = unique('join');
    await createStream(roomName);
    const { first } = await join(roomName, 'guest-1');
    const room = await api().get(`/api/livekit/room/${roomName}`);

    expect(first.type).toBe('joined');
    expect(await identities(roomName)).toContain('guest-1');
    expect(room.body.participants.map((participant: { identity: string }) => participant.identity)).toContain('guest-1');
  });

  it('gives a read-only caller a subscribe-only join token', async () => {
    const roomName = unique('viewer');
    await createStream(roomName);
    const reader = await testToken(['read']);
    const join = await request(sdk.api).post(`/api/livekit/room/${roomName}/join`).set('Authorization', `Bearer ${reader}`).send({});
    const publish = await request(sdk.api)
      .post(`/api/livekit/room/${roomName}/join`)
      .set('Authorization', `Bearer ${reader}`)
      .send({ canPublish: true });
    const publishData = await request(sdk.api)
      .post(`/api/livekit/room/${roomName}/join`)
      .set('Authorization', `Bearer ${reader}`)
      .send({ canPublishData: true });
    const claims = await new TokenVerifier(LIVEKIT_KEY, LIVEKIT_SECRET).verify(join.body.token);

    expect(join.status).toBe(201);
    expect(claims.sub).toBe('test-suite');
    expect(claims.video?.canPublish).toBe(false);
    expect(claims.video?.canPublishData).toBe(false);
    expect(claims.video?.canSubscribe).toBe(true);
    expect(publish.status).toBe(403);
    expect(publish.body.details[0].field).toBe('body.canPublish');
    expect(publishData.status).toBe(403);
    expect(publishData.body.details[0].field).toBe('body.canPublishData');
  });

  it('gives a write caller a publishing join token', async () => {
    const roomName = unique('writer');
    await createStream(roomName);
    const join = await api().post(`/api/livekit/room/${roomName}/join`).send({ identity: 'writer-1' });
    const claims = await new TokenVerifier(LIVEKIT_KEY, LIVEKIT_SECRET).verify(join.body.token);

    expect(join.status).toBe(201);
    expect(claims.video?.canPublish).toBe(true);
    expect(claims.video?.canPublishData).toBe(true);
  });

  it('removes the participant from livekit-server on leave', async () => {
    const roomName = unique('leave');
    await createStream(roomName);
    const { ws } = await join(roomName, 'guest-2');
    const closed = new Promise((resolve) => ws.once('close', resolve));
    const response = await api().post(`/api/livekit/room/${roomName}/leave`).send({ identity: 'guest-2' });

    expect(response.status).toBe(200);
    expect(await identities(roomName)).not.toContain('guest-2');
    await closed;
  });

  it('answers 404 when leaving with an identity not in the room', async () => {
    const roomName = unique('absent');
    await createStream(roomName);
    const response = await api().post(`/api/livekit/room/${roomName}/leave`).send({ identity: 'nobody' });

    expect(response.status).toBe(404);
    expect(response.body.details[0].field).toBe('participant');
  });

  it('receives livekit-server webhooks and moves the analytics', async () => {
    const roomName = unique('hooks');
    await createStream(roomName);
    await join(roomName, 'guest-3');

    const participants = await waitFor(
      async () => {
        const body = (await api().get('/api/livekit/analytics/participants').query({ roomName })).body;
        return body.joins >= 1 ? body : undefined;
      },
      { timeoutMs: 30000, what: 'participant_joined webhook' },
    );
    const roomsReport = (await api().get('/api/livekit/analytics/rooms').query({ roomName })).body;

    expect(participants.joins).toBe(1);
    expect(roomsReport.total).toBe(1);
    expect(roomsReport.rooms[0].currentParticipants).toBe(1);

    await api().post(`/api/livekit/room/${roomName}/leave`).send({ identity: 'guest-3' });
    const afterLeave = await waitFor(
      async () => {
        const body = (await api().get('/api/livekit/analytics/participants').query({ roomName })).body;
        return body.leaves >= 1 ? body : undefined;
      },
      { timeoutMs: 30000, what: 'participant_left webhook' },
    );
    const roomsAfter = (await api().get('/api/livekit/analytics/rooms').query({ roomName })).body;
    expect(afterLeave.leaves).toBe(1);
    expect(roomsAfter.rooms[0].currentParticipants).toBe(0);
  });

  it('starts, stops and deletes a stream through its room', async () => {
    const roomName = unique('life');
    const stream = await createStream(roomName);
    const { ws } = await join(roomName, 'guest-4');
    const closed = new Promise((resolve) => ws.once('close', resolve));

    const started = await api().post(`/api/livekit/stream/${stream.streamId}/start`);
    const liveMetadata = JSON.parse((await rooms.listRooms([roomName]))[0].metadata);
    const stopped = await api().post(`/api/livekit/stream/${stream.streamId}/stop`);
    const endedMetadata = JSON.parse((await rooms.listRooms([roomName]))[0].metadata);
    const remaining = await identities(roomName);
    await closed;
    const deleted = await api().delete(`/api/livekit/stream/${stream.streamId}`);

    expect(started.body.state).toBe('live');
    expect(liveMetadata.state).toBe('live');
    expect(stopped.body.state).toBe('ended');
    expect(endedMetadata.state).toBe('ended');
    expect(remaining).toEqual([]);
    expect(deleted.status).toBe(204);
    expect(await roomExists(roomName)).toBe(false);
    expect((await api().get(`/api/livekit/stream/${stream.streamId}`)).status).toBe(404);
  });

  it('rejects a second room create with 409', async () => {
    const name = unique('dup');
    const first = await api().post('/api/livekit/room/create').send({ name, maxParticipants: 10 });
    const second = await api().post('/api/livekit/room/create').send({ name });

    expect(first.status).toBe(201);
    expect(first.body.maxParticipants).toBe(10);
    expect(second.status).toBe(409);
  });

  describe('commands', () => {
    it('creates a broadcast once per requestId and reuses an existing room', async () => {
      const roomName = unique('cmd');
      await rooms.createRoom({ name: roomName });
      const payload = { requestId: unique('req'), title: 'Orchestrated', roomName, hostIdentity: 'host-9' };

      const first = await commands.send('livekit-sdk', 'broadcast.create', payload);
      const second = await commands.send('livekit-sdk', 'broadcast.create', payload);
      const started = await commands.send('livekit-sdk', 'broadcast.start', { streamId: first.streamId });
      const stopped = await commands.send('livekit-sdk', 'broadcast.stop', { streamId: first.streamId });
      const deleted = await commands.send('livekit-sdk', 'broadcast.delete', { streamId: first.streamId });
      const again = await commands.send('livekit-sdk', 'broadcast.delete', { streamId: first.streamId });

      expect(second.streamId).toBe(first.streamId);
      expect(first.roomName).toBe(roomName);
      expect(started.state).toBe('live');
      expect(stopped.state).toBe('ended');
      expect(deleted.deleted).toBe(true);
      expect(again.deleted).toBe(false);
    });

    it('issues a host token that livekit-server accepts', async () => {
      const roomName = unique('host');
      await createStream(roomName);
      const issued = await commands.send('livekit-sdk', 'token.issue', { roomName, identity: 'host-1', role: 'host' });
      const opened = await openSignal(`${issued.signalUrl}?access_token=${encodeURIComponent(issued.token)}`);
      sockets.push(opened.ws);

      expect(opened.first.type).toBe('joined');
    });
  });
});
