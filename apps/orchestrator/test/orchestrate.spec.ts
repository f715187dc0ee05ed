import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

import request from 'supertest';

import { EventPublisher, createRedis } from '@castplane/redis';
import type { Redis } from '@castplane/redis';
import { createLogger } from '@castplane/logging';
import type { RunningService } from '@castplane/http';
import { LogCapture, baseTestEnv, freePort, testToken, waitFor } from '@castplane/testing';

import { loadConfigFromEnv } from '../src/config';
import { startOrchestrator } from '../src/service';
import { CommandFixtures } from './command-fixtures';

describe('orchestration API', () => {
  let service: RunningService;
  let fixtures: CommandFixtures;
  let api: string;
  let writeToken: string;
  let readToken: string;
  let env: NodeJS.ProcessEnv;
  let redis: Redis;
  const logs = new LogCapture();
  let counter = 0;
  // Accepts connections and never responds, like a hung service.
  const silentSockets: Socket[] = [];
  const silent: Server = createServer((socket) => silentSockets.push(socket));
  const uniqueName = () => `event-${Date.now().toString(36)}-${++counter}`;

  beforeAll(async () => {
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as { port: number }).port;
    env = baseTestEnv('orch', {
      ORCHESTRATOR_API_PORT: '0',
      ORCHESTRATOR_HEALTH_PORT: '0',
      ORCHESTRATOR_STEP_TIMEOUT_MS: '3000',
      ORCHESTRATOR_STEP_BACKOFF_MS: '50',
      ORCHESTRATOR_STEP_ATTEMPTS: '3',
      SRS_ADAPTER_URL: `http://127.0.0.1:${await freePort()}`,
      ENCODER_URL: `http://127.0.0.1:${silentPort}`,
      ORCHESTRATOR_HEALTH_TIMEOUT_MS: '800',
      ORCHESTRATOR_STOP_TRANSCODE_ON_END: 'true',
      CONFIG_SYNC_SRS: JSON.stringify({ hlsFragmentSeconds: 2 }),
    });
    redis = createRedis(env.REDIS_URL!, { name: 'orchestrator-test' });
    fixtures = new CommandFixtures({ redisUrl: env.REDIS_URL!, prefix: env.REDIS_KEY_PREFIX! });
    fixtures.start();
    service = await startOrchestrator(loadConfigFromEnv(env), { logStream: logs.stream });
    api = `http://127.0.0.1:${service.ports.api}`;
    writeToken = await testToken(['write']);
    readToken = await testToken(['read']);
  });

  afterAll(async () => {
    await service.shutdown.run('test');
    await fixtures.close();
    redis.disconnect();
    for (const socket of silentSockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  const start = (body: object, query = '?wait=true', headers: Record<string, string> = {}) =>
    request(api).post(`/api/stream/orchestrate/start${query}`).set('authorization', `Bearer ${writeToken}`).set(headers).send(body);

  const status = async (id: string) =>
    (await request(api).get(`/api/stream/orchestrate/status?id=${id}`).set('authorization', `Bearer ${readToken}`)).body;

  describe('POST /api/stream/orchestrate/start', () => {
    it('runs all steps in order', async () => {
      const name = uniqueName();
      const res = await start({ name, title: 'Launch', profiles: ['720p', '360p'], record: true, hostIdentity: 'alice' });

      expect(res.status).toBe(200);
      expect(res.body.status).toBe('ready');
      expect(res.body.steps.map((step: { name: string }) => step.name)).toEqual(['stream', 'room', 'transcode', 'broadcast', 'host_token']);
      expect(res.body.steps.every((step: { state: string; attempts: number }) => step.state === 'completed' && step.attempts === 1)).toBe(true);
      expect(res.body.urls.rtmp).toContain(`/live/${name}`);
      expect(res.body.urls.masterPlaylist).toBe(`http://127.0.0.1:8080/media/hls/live/${name}/master.m3u8`);
      expect(res.body.urls.room).toBe(name);
      expect(res.body.hostToken).toMatch(/^token-alice-/);
      const arm = fixtures.calls.find((call) => call.command === 'transcode.arm' && call.payload.name === name);
      expect(arm?.payload.profiles).toEqual(['720p', '360p']);
      expect(arm?.payload.record).toBe(true);
      expect(arm?.payload.streamKey).toMatch(/^key-/);
    });

    it('returns 202 and a status URL', async () => {
      const res = await start({ name: uniqueName() }, '');

      expect(res.status).toBe(202);
      expect(res.body.statusUrl).toBe(`/api/stream/orchestrate/status?id=${res.body.id}`);
      expect(res.headers.location).toBe(res.body.statusUrl);
      const settled = await waitFor(async () => {
        const body = await status(res.body.id);
        return body.status === 'ready' ? body : undefined;
      }, { timeoutMs: 20000, what: 'orchestration ready' });
      expect(settled.steps).toHaveLength(5);
    });

    it('keeps secrets out of step results and lists', async () => {
      const res = await start({ name: uniqueName() });
      const list = await request(api).get('/api/stream/orchestrate/status').set('authorization', `Bearer ${readToken}`);

      const streamStep = res.body.steps.find((step: { name: string }) => step.name === 'stream');
      expect(streamStep.result.streamKey).toBeUndefined();
      expect(streamStep.result.rtmpUrl).toBeUndefined();
      expect(JSON.stringify(list.body)).not.toContain('key-');
      expect(list.body.orchestrations.some((entry: { id: string }) => entry.id === res.body.id)).toBe(true);
      expect(logs.output).not.toContain('key-orc_');
    });

    it('shows the RTMP URL and host token only to the write scope', async () => {
      const res = await start({ name: uniqueName() });
      const forReader = await status(res.body.id);
      const forWriter = (
        await request(api).get(`/api/stream/orchestrate/status?id=${res.body.id}`).set('authorization', `Bearer ${writeToken}`)
      ).body;

      expect(forReader.urls.rtmp).toBeUndefined();
      expect(forReader.hostToken).toBeUndefined();
      expect(forReader.urls.hls).toBe(forWriter.urls.hls);
      expect(forWriter.urls.rtmp).toContain('key-');
      expect(forWriter.hostToken).toMatch(/^token-/);
    });

    it('retries a transient step failure', async () => {
      fixtures.failures.set('livekit-server room.create', { code: 'unavailable', times: 1 });
      const res = await start({ name: uniqueName() });

      expect(res.body.status).toBe('ready');
      expect(res.body.steps.find((step: { name: string }) => step.name === 'room').attempts).toBe(2);
      expect(res.body.history.some((entry: { type: string }) => entry.type === 'step.retrying')).toBe(true);
    });

    it('rolls back after a permanent failure', async () => {
      fixtures.failures.set('livekit-sdk broadcast.create', { code: 'invalid_argument', times: 1 });
      const before = fixtures.calls.length;
      const res = await start({ name: uniqueName() });
      const calls = fixtures.calls.slice(before).map((call) => `${call.service} ${call.command}`);

      expect(res.body.status).toBe('failed');
      expect(res.body.failedStep).toBe('broadcast');
      expect(res.body.error.code).toBe('invalid_argument');
      expect(res.body.error.message).toContain('broadcast failed');
      expect(calls.slice(-3)).toEqual(['encoder transcode.disarm', 'livekit-server room.delete', 'srs-adapter stream.delete']);
      const states = Object.fromEntries(res.body.steps.map((step: { name: string; state: string }) => [step.name, step.state]));
      expect(states).toEqual({ stream: 'compensated', room: 'compensated', transcode: 'compensated', broadcast: 'failed', host_token: 'pending' });
    });

    it('fails after the configured attempts', async () => {
      fixtures.failures.set('encoder transcode.arm', { code: 'unavailable', times: 3 });
      const res = await start({ name: uniqueName() });

      expect(res.body.status).toBe('failed');
      expect(res.body.failedStep).toBe('transcode');
      expect(res.body.steps.find((step: { name: string }) => step.name === 'transcode').attempts).toBe(3);
      expect(res.body.error.code).toBe('unavailable');
    });

    it('returns the same orchestration for a repeated Idempotency-Key', async () => {
      const body = { name: uniqueName() };
      const streamsBefore = fixtures.created.streams;
      const first = await start(body, '', { 'idempotency-key': `key-${body.name}` });
      const second = await start(body, '?wait=true', { 'idempotency-key': `key-${body.name}` });

      expect(first.status).toBe(202);
      expect(first.body.created).toBe(true);
      expect(second.body.id).toBe(first.body.id);
      expect(second.body.created).toBe(false);
      expect(second.body.status).toBe('ready');
      expect(fixtures.created.streams - streamsBefore).toBe(1);
    });

    it('rejects a reused Idempotency-Key with a different body', async () => {
      const key = `key-${uniqueName()}`;
      await start({ name: uniqueName() }, '', { 'idempotency-key': key });
      const res = await start({ name: uniqueName() }, '', { 'idempotency-key': key });

      expect(res.status).toBe(422);
      expect(res.body.details[0].field).toBe('headers.idempotency-key');
    });
  });

  describe('POST /api/stream/orchestrate/stop', () => {
    it('tears down in reverse order', async () => {
      const started = await start({ name: uniqueName() });
      const before = fixtures.calls.length;
      const res = await request(api)
        .post('/api/stream/orchestrate/stop?wait=true')
        .set('authorization', `Bearer ${writeToken}`)
        .send({ id: started.body.id });
      const calls = fixtures.calls.slice(before).map((call) => call.command);

      expect(res.status).toBe(200);
      expect(res.body.status).toBe('stopped');
      expect(calls).toEqual(['transcode.stop', 'stream.unpublish', 'room.end', 'broadcast.stop']);
      expect(res.body.stopSteps.every((step: { state: string }) => step.state === 'completed')).toBe(true);
    });

    it('retries the failed stop steps on a second stop', async () => {
      const started = await start({ name: uniqueName() });
      fixtures.failures.set('livekit-server room.end', { code: 'unavailable', times: 3 });
      const stop = () =>
        request(api).post('/api/stream/orchestrate/stop?wait=true').set('authorization', `Bearer ${writeToken}`).send({ id: started.body.id });
      const first = await stop();
      const second = await stop();

      expect(first.body.status).toBe('stop_failed');
      expect(first.body.stopSteps.find((step: { name: string }) => step.name === 'room_end').state).toBe('failed');
      expect(first.body.stopSteps.find((step: { name: string }) => step.name === 'broadcast_stop').state).toBe('completed');
      expect(second.body.status).toBe('stopped');
      expect(second.body.stopSteps.find((step: { name: string }) => step.name === 'room_end').attempts).toBe(4);
    });

    it('stops an orchestration that is still starting', async () => {
      const name = uniqueName();
      const release = fixtures.hold('encoder transcode.arm');
      const started = await start({ name }, '');
      await waitFor(async () => (await status(started.body.id)).steps.find((step: { name: string }) => step.name === 'transcode').state === 'running', {
        timeoutMs: 15000,
        what: 'transcode step running',
      });
      const stopping = await request(api).post('/api/stream/orchestrate/stop').set('authorization', `Bearer ${writeToken}`).send({ id: started.body.id });
      release();
      const done = await waitFor(async () => {
        const body = await status(started.body.id);
        return body.status === 'stopped' ? body : undefined;
      }, { timeoutMs: 20000, intervalMs: 100, what: 'orchestration stopped' });
      const states = (steps: { name: string; state: string }[]) => steps.map((step) => `${step.name}:${step.state}`);

      expect(stopping.status).toBe(202);
      expect(stopping.body.status).toBe('starting');
      expect(states(done.steps)).toEqual(['stream:completed', 'room:completed', 'transcode:completed', 'broadcast:pending', 'host_token:pending']);
      expect(states(done.stopSteps)).toEqual(['transcode_stop:completed', 'unpublish:completed', 'room_end:completed', 'broadcast_stop:skipped']);
      expect(fixtures.calls.some((call) => call.command === 'broadcast.create' && call.payload.roomName === name)).toBe(false);
      expect(done.history.map((entry: { type: string }) => entry.type)).toContain('orchestration.stop_requested');
    });

    it('rejects stopping a failed orchestration', async () => {
      fixtures.failures.set('livekit-server room.create', { code: 'invalid_argument', times: 1 });
      const started = await start({ name: uniqueName() });
      const res = await request(api).post('/api/stream/orchestrate/stop').set('authorization', `Bearer ${writeToken}`).send({ id: started.body.id });

      expect(res.status).toBe(409);
      expect(res.body.code).toBe('failed_precondition');
    });
  });

  describe('GET /api/stream/orchestrate/status', () => {
    const list = async (query: string) =>
      (await request(api).get(`/api/stream/orchestrate/status?${query}`).set('authorization', `Bearer ${readToken}`)).body;

    it('pages the list newest first', async () => {
      const started = [];
      for (let i = 0; i < 3; i += 1) started.push((await start({ name: uniqueName() })).body.id as string);
      const first = await list('limit=2');
      const second = await list('limit=2&offset=2');

      expect(first.orchestrations.map((entry: { id: string }) => entry.id)).toEqual([started[2], started[1]]);
      expect(second.orchestrations[0].id).toBe(started[0]);
      expect(first.total).toBe(second.total);
      expect(first.total).toBeGreaterThanOrEqual(3);
    });

    it('sets the retention on a stopped orchestration only', async () => {
      const stopped = await start({ name: uniqueName() });
      const running = await start({ name: uniqueName() });
      await request(api).post('/api/stream/orchestrate/stop?wait=true').set('authorization', `Bearer ${writeToken}`).send({ id: stopped.body.id });
      const key = (id: string) => `${env.REDIS_KEY_PREFIX}:orchestrator:orch:${id}`;

      expect(await redis.ttl(key(stopped.body.id))).toBeGreaterThan(29 * 86400);
      expect(await redis.ttl(`${key(stopped.body.id)}:history`)).toBeGreaterThan(29 * 86400);
      expect(await redis.ttl(key(running.body.id))).toBe(-1);
    });

    it('drops expired orchestrations from the list', async () => {
      const expired = await start({ name: uniqueName() });
      const before = await list('limit=5');
      await redis.del(`${env.REDIS_KEY_PREFIX}:orchestrator:orch:${expired.body.id}`);
      const after = await list('limit=5');

      expect(before.orchestrations[0].id).toBe(expired.body.id);
      expect(after.orchestrations.map((entry: { id: string }) => entry.id)).not.toContain(expired.body.id);
      expect(after.total).toBe(before.total - 1);
    });
  });

  describe('POST /api/stream/orchestrate/token', () => {
    it('issues a viewer token for the room', async () => {
      const started = await start({ name: uniqueName() });
      const res = await request(api)
        .post('/api/stream/orchestrate/token')
        .set('authorization', `Bearer ${writeToken}`)
        .send({ id: started.body.id, identity: 'viewer-1' });

      expect(res.status).toBe(201);
      expect(res.body.token).toMatch(/^token-viewer-1-/);
      const call = fixtures.calls.filter((entry) => entry.command === 'token.issue').at(-1);
      expect(call?.payload.role).toBe('viewer');
    });
  });

  describe('stream and transcode events', () => {
    it('records events and stops ended transcodes', async () => {
      const name = uniqueName();
      const started = await start({ name });
      const publisher = new EventPublisher(
        { redisUrl: env.REDIS_URL!, prefix: env.REDIS_KEY_PREFIX!, logger: createLogger({ service: 'test', level: 'error', version: 't', env: 'test' }) },
        'srs-adapter',
      );
      const stream = { streamId: 'st', app: 'live', name, clientId: 'c1', sessionId: 's1' };
      await publisher.publish('stream.published', stream);
      await publisher.publish('transcode.started', { jobId: 'job-1', app: 'live', name, masterPlaylistPath: `hls/live/${name}/master.m3u8` });
      await publisher.publish('stream.reconnected', stream);
      await publisher.publish('stream.ended', { streamId: 'st', app: 'live', name, sessionId: 's1', reason: 'unpublished' });
      await publisher.close();

      const body = await waitFor(async () => {
        const current = await status(started.body.id);
        return current.media.publish === 'ended' ? current : undefined;
      }, { timeoutMs: 20000, what: 'stream.ended applied' });
      const types = body.history.map((entry: { type: string }) => entry.type);
      expect(types).toEqual(expect.arrayContaining(['stream.published', 'transcode.started', 'stream.reconnected', 'stream.ended']));
      expect(body.media.transcode).toBe('running');
      expect(body.media.transcodeJobId).toBe('job-1');
      await waitFor(() => fixtures.calls.some((call) => call.command === 'transcode.stop' && call.payload.streamKey === `key-${started.body.id}.stream`), {
        timeoutMs: 10000,
        what: 'transcode.stop after stream.ended',
      });
    });
  });

  describe('coordination and config sync', () => {
    it('runs one step through the command queue', async () => {
      const name = uniqueName();
      const stream = await request(api).post('/api/coordination/srs/start').set('authorization', `Bearer ${writeToken}`).send({ name });
      const room = await request(api).post('/api/coordination/livekit/create-room').set('authorization', `Bearer ${writeToken}`).send({ name });
      const arm = await request(api)
        .post('/api/coordination/encoder/start-transcode')
        .set('authorization', `Bearer ${writeToken}`)
        .send({ streamKey: stream.body.streamKey, name });

      expect(stream.status).toBe(201);
      expect(stream.body.rtmpUrl).toContain(name);
      expect(room.body).toEqual({ sid: `RM_${name}`, name, created: true });
      expect(arm.body.state).toBe('armed');
    });

    it('pushes merged settings and returns changes', async () => {
      const admin = await testToken(['admin']);
      const res = await request(api)
        .post('/api/config/sync/srs')
        .set('authorization', `Bearer ${admin}`)
        .send({ settings: { reconnectWindowSeconds: 10 } });
      const livekit = await request(api).post('/api/config/sync/livekit').set('authorization', `Bearer ${admin}`).send({});

      expect(res.status).toBe(200);
      expect(res.body.settings).toEqual({ hlsFragmentSeconds: 2, reconnectWindowSeconds: 10 });
      expect(res.body.results[0].changed.reconnectWindowSeconds).toEqual({ from: null, to: 10 });
      expect(livekit.body.results.map((result: { service: string }) => result.service)).toEqual(['livekit-server', 'livekit-sdk']);
    });

    it('requires the admin scope for config sync', async () => {
      const res = await request(api).post('/api/config/sync/srs').set('authorization', `Bearer ${writeToken}`).send({});

      expect(res.status).toBe(403);
    });
  });

  describe('bad input', () => {
    /** Builds `{ a: { a: ... } }` nested `levels` deep. */
    const nested = (levels: number): object => {
      let value: object = {};
      for (let level = 0; level < levels; level += 1) value = { a: value };
      return value;
    };

    const cases: [string, string, object, string][] = [
      ['post', '/api/stream/orchestrate/start', { name: 'has space' }, 'body.name'],
      ['post', '/api/stream/orchestrate/start', { name: 'ok', profiles: [] }, 'body.profiles'],
      ['post', '/api/stream/orchestrate/start', { name: 'ok', room: { maxParticipants: 0 } }, 'body.room.maxParticipants'],
      ['post', '/api/stream/orchestrate/start?wait=maybe', { name: 'ok' }, 'query.wait'],
      ['post', '/api/stream/orchestrate/stop', { id: 'nope' }, 'body.id'],
      ['get', '/api/stream/orchestrate/status?id=bad', {}, 'query.id'],
      ['post', '/api/stream/orchestrate/token', { id: 'orc_0000000000000000', role: 'owner' }, 'body.identity'],
      ['post', '/api/coordination/srs/start', {}, 'body.name'],
      ['post', '/api/coordination/livekit/create-room', { name: 'r', emptyTimeout: -1 }, 'body.emptyTimeout'],
      ['post', '/api/coordination/encoder/start-transcode', { name: 'x' }, 'body.streamKey'],
      ['post', '/api/config/sync/redis', {}, 'params.target'],
      ['post', '/api/config/sync/encoder', { settings: nested(50) }, 'body.settings'],
    ];

    it.each(cases)('%s %s names the field at fault', async (method, path, body, field) => {
      const admin = await testToken(['admin']);
      const call = method === 'get' ? request(api).get(path) : request(api).post(path).send(body);
      const res = await call.set('authorization', `Bearer ${admin}`);

      expect(res.status).toBe(400);
      expect(res.body.code).toBe('invalid_argument');
      expect(res.body.details.map((detail: { field: string }) => detail.field)).toContain(field);
    });

    it('rejects settings nested 5000 levels deep', async () => {
      const admin = await testToken(['admin']);
      const body = `{"settings":${'{"a":'.repeat(5000)}{}${'}'.repeat(5001)}`;
      const res = await request(api).post('/api/config/sync/encoder').set('authorization', `Bearer ${admin}`).type('json').send(body);

      expect(res.status).toBe(400);
      expect(res.body.details[0].field).toBe('body.settings');
    });

    it('rejects an invalid Idempotency-Key header', async () => {
      const res = await start({ name: uniqueName() }, '', { 'idempotency-key': 'has spaces in it' });

      expect(res.status).toBe(400);
      expect(res.body.details[0].field).toBe('headers.idempotency-key');
    });

    it('returns 404 for an unknown orchestration', async () => {
      const res = await request(api).get('/api/stream/orchestrate/status?id=orc_0000000000000000').set('authorization', `Bearer ${readToken}`);

      expect(res.status).toBe(404);
    });

    it('requires a token', async () => {
      const res = await request(api).post('/api/stream/orchestrate/start').send({ name: 'x' });

      expect(res.status).toBe(401);
    });
  });

  describe('health API', () => {
    it('reports a refused connection as down', async () => {
      const res = await request(`http://127.0.0.1:${service.ports.health}`).get('/health/srs');

      expect(res.status).toBe(503);
      expect(res.body.status).toBe('down');
      const check = res.body.checks.find((entry: { name: string }) => entry.name === 'srs-adapter');
      expect(check.status).toBe('down');
      expect(typeof check.durationMs).toBe('number');
    });

    it('reports a hung service as down', async () => {
      const res = await request(`http://127.0.0.1:${service.ports.health}`).get('/health/encoder');

      expect(res.status).toBe(503);
      const check = res.body.checks.find((entry: { name: string }) => entry.name === 'encoder');
      expect(check.status).toBe('down');
      expect(check.error).toContain('800 ms');
    });

    it('reports the backend up', async () => {
      // The checks share an 800 ms limit here, which a busy machine can miss once, so poll.
      const res = await waitFor(async () => {
        const current = await request(`http://127.0.0.1:${service.ports.health}`).get('/health/backend');
        return current.status === 200 ? current : undefined;
      }, { timeoutMs: 20000, intervalMs: 500, what: 'backend health up' });

      expect(res.status).toBe(200);
      expect(res.body.checks.map((check: { name: string }) => check.name)).toEqual(['redis', 'ffmpeg', 'livekit-sdk-commands']);
      expect(res.body.checks[1].detail.version).toMatch(/^ffmpeg version/);
      expect(res.body.checks[2].detail.workers).toBeGreaterThan(0);
    });

    it('rejects an unknown health target', async () => {
      const res = await request(`http://127.0.0.1:${service.ports.health}`).get('/health/database');

      expect(res.status).toBe(400);
      expect(res.body.details[0].field).toBe('params.target');
    });
  });
});
