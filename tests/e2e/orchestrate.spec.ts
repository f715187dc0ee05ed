import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';

import request from 'supertest';
import WebSocket from 'ws';

import { createLogger } from '@castplane/logging';
import { CommandClient } from '@castplane/redis';
import { ffprobe, publishTestSource, stopProcess, testToken, waitFor } from '@castplane/testing';

import { Platform } from './platform';

jest.setTimeout(240000);

const root = join(__dirname, '..', '..');

/** Resolves with the first message the room's signal socket sends, or rejects on close/error. */
function joinSignal(url: string): Promise<{ message: Record<string, any>; socket: WebSocket }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const timer = setTimeout(() => reject(new Error('no signal message within 15 s')), 15000);
    socket.once('message', (data) => {
      clearTimeout(timer);
      resolve({ message: JSON.parse(data.toString()) as Record<string, any>, socket });
    });
    socket.once('unexpected-response', (_req, res) => reject(new Error(`signal upgrade rejected with ${res.statusCode}`)));
    socket.once('error', reject);
  });
}

describe('live event end to end', () => {
  const platform = new Platform();
  let api: string;
  let health: string;
  let token: string;
  let commands: CommandClient;
  const publishers: ChildProcess[] = [];

  beforeAll(async () => {
    Platform.build();
    await platform.start();
    api = `http://127.0.0.1:${platform.ports.api}`;
    health = `http://127.0.0.1:${platform.ports.health}`;
    token = await testToken(['admin']);
    const logger = createLogger({ service: 'e2e', level: 'error', version: 'test', env: 'test' });
    commands = new CommandClient({ redisUrl: platform.env.REDIS_URL!, prefix: platform.env.REDIS_KEY_PREFIX!, logger });
  });

  afterAll(async () => {
    await Promise.all(publishers.map((child) => stopProcess(child)));
    await commands.close();
    await platform.stop();
  });

  const status = async (id: string) =>
    (await request(api).get(`/api/stream/orchestrate/status?id=${id}`).set('authorization', `Bearer ${token}`)).body;

  it('runs the whole live event flow', async () => {
    const started = await request(api)
      .post('/api/stream/orchestrate/start?wait=true')
      .set('authorization', `Bearer ${token}`)
      .send({ name: 'e2e-demo', title: 'End to end', profiles: ['480p', '360p'], hostIdentity: 'host-1' });
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({ status: 'ready' });
    expect(started.body.urls.rtmp).toMatch(/^rtmp:\/\/127\.0\.0\.1:\d+\/live\/e2e-demo/);
    expect(typeof started.body.hostToken).toBe('string');

    const publisher = publishTestSource(started.body.urls.rtmp);
    publishers.push(publisher);
    const live = await waitFor(async () => {
      const body = await status(started.body.id);
      return body.media.publish === 'live' && body.urls.masterPlaylist ? body : undefined;
    }, { timeoutMs: 60000, intervalMs: 500, what: 'stream live with a master playlist' });

    const master = await waitFor(async () => {
      const res = await fetch(live.urls.masterPlaylist);
      return res.ok ? res.text() : undefined;
    }, { timeoutMs: 90000, intervalMs: 1000, what: 'master playlist served' });
    const variants = master.split('\n').filter((line) => line && !line.startsWith('#'));
    expect(master.match(/#EXT-X-STREAM-INF/g)).toHaveLength(2);
    expect(variants).toHaveLength(2);

    const variantUrl = new URL(variants[0], live.urls.masterPlaylist).toString();
    const segment = await waitFor(async () => {
      const res = await fetch(variantUrl);
      if (!res.ok) return undefined;
      const uri = (await res.text()).split('\n').find((line) => line && !line.startsWith('#'));
      return uri ? new URL(uri, variantUrl).toString() : undefined;
    }, { timeoutMs: 90000, intervalMs: 1000, what: 'first ladder segment' });
    const probe = await ffprobe(segment);
    expect(probe.streams.some((stream) => stream.codec_type === 'video' && stream.codec_name === 'h264')).toBe(true);

    const signal = `ws://127.0.0.1:${platform.ports.livekit}/signal/e2e-demo?access_token=${encodeURIComponent(started.body.hostToken)}`;
    const { message, socket } = await joinSignal(signal);
    expect(message.type).toBe('joined');
    expect(message.participant.identity).toBe('host-1');
    const socketClosed = new Promise<void>((resolve) => socket.once('close', () => resolve()));

    const stopped = await request(api)
      .post('/api/stream/orchestrate/stop?wait=true')
      .set('authorization', `Bearer ${token}`)
      .send({ id: started.body.id });
    expect(stopped.body.status).toBe('stopped');
    expect(stopped.body.stopSteps.map((step: { name: string; state: string }) => `${step.name}:${step.state}`)).toEqual([
      'transcode_stop:completed',
      'unpublish:completed',
      'room_end:completed',
      'broadcast_stop:completed',
    ]);
    await socketClosed;
    await waitFor(() => publisher.exitCode !== null || publisher.signalCode !== null, { timeoutMs: 20000, what: 'publisher disconnected' });
    const streamId = String(stopped.body.steps.find((step: { name: string }) => step.name === 'stream').result.streamId);
    const stream = await commands.send('srs-adapter', 'stream.get', { streamId });
    expect(stream.state).not.toBe('live');
  });

  it('runs the demo script to completion', async () => {
    const demo = spawn(process.execPath, [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(root, 'scripts', 'demo.ts')], {
      cwd: root,
      env: {
        ...process.env,
        ORCHESTRATOR_URL: api,
        AUTH_JWT_SECRET: platform.env.AUTH_JWT_SECRET,
        DEMO_NAME: 'e2e-demo-script',
        DEMO_PROFILES: '480p,360p',
        DEMO_TIMEOUT_SECONDS: '120',
        DEMO_HOLD_SECONDS: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    demo.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    demo.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => demo.kill('SIGKILL'), 200000);
      demo.once('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });

    expect(output).toContain('HLS (ladder)');
    expect(output).toMatch(/host token {5}\S+\.\S+\.\S+/);
    expect(output).toMatch(/viewer token {3}\S+\.\S+\.\S+/);
    expect(output).toContain('orchestration stopped');
    expect(code).toBe(0);
  });

  it('returns the same orchestration for a repeated Idempotency-Key', async () => {
    const send = () =>
      request(api)
        .post('/api/stream/orchestrate/start')
        .set('authorization', `Bearer ${token}`)
        .set('idempotency-key', 'e2e-idem-1')
        .send({ name: 'e2e-idem' });
    const [first, second] = await Promise.all([send(), send()]);
    const third = await send();

    expect(first.body.id).toBe(second.body.id);
    expect(third.body.id).toBe(first.body.id);
    expect([first.body.created, second.body.created].filter(Boolean)).toHaveLength(1);
    const list = await request(api).get('/api/stream/orchestrate/status').set('authorization', `Bearer ${token}`);
    expect(list.body.orchestrations.filter((entry: { name: string }) => entry.name === 'e2e-idem')).toHaveLength(1);
    const done = await waitFor(async () => {
      const body = await status(first.body.id);
      return body.status === 'ready' ? body : undefined;
    }, { timeoutMs: 60000, intervalMs: 500, what: 'idempotent orchestration ready' });
    expect(done.steps.find((step: { name: string }) => step.name === 'stream').attempts).toBe(1);
  });

  it('finishes a flow after kill -9 mid-step', async () => {
    await platform.stopService('livekit-server');
    const started = await request(api).post('/api/stream/orchestrate/start').set('authorization', `Bearer ${token}`).send({ name: 'e2e-crash' });
    await waitFor(async () => {
      const body = await status(started.body.id);
      return body.steps.find((step: { name: string }) => step.name === 'room').state === 'running';
    }, { timeoutMs: 20000, intervalMs: 100, what: 'room step in flight' });

    const orchestrator = platform.processes.get('orchestrator')!;
    orchestrator.kill('SIGKILL');
    await waitFor(() => orchestrator.signalCode !== null, { what: 'orchestrator killed' });
    platform.spawn('livekit-server');
    await platform.waitReady('livekit-server');
    platform.spawn('orchestrator');
    await platform.waitReady('orchestrator');

    const done = await waitFor(async () => {
      const body = await status(started.body.id);
      return body.status === 'ready' ? body : undefined;
    }, { timeoutMs: 90000, intervalMs: 500, what: 'orchestration ready after the restart' });
    const room = done.steps.find((step: { name: string }) => step.name === 'room');
    expect(room.attempts).toBe(1);
    expect(room.result.created).toBe(true);
    expect(done.steps.every((step: { attempts: number }) => step.attempts === 1)).toBe(true);
    const completions = done.history.filter((entry: { type: string; detail?: { step?: string } }) => entry.type === 'step.completed' && entry.detail?.step === 'room');
    expect(completions).toHaveLength(1);
  });

  describe('with livekit-server stopped', () => {
    beforeAll(async () => {
      await platform.stopService('livekit-server');
    });

    it('rolls back when the room step fails', async () => {
      const res = await request(api)
        .post('/api/stream/orchestrate/start?wait=true')
        .set('authorization', `Bearer ${token}`)
        .send({ name: 'e2e-rollback' });

      expect(res.body.status).toBe('failed');
      expect(res.body.failedStep).toBe('room');
      expect(res.body.error.code).toBe('deadline_exceeded');
      expect(res.body.error.message).toContain('room failed');
      const states = Object.fromEntries(res.body.steps.map((step: { name: string; state: string }) => [step.name, step.state]));
      expect(states).toEqual({ stream: 'compensated', room: 'failed', transcode: 'pending', broadcast: 'pending', host_token: 'pending' });
      const streamId = String(res.body.steps[0].result.streamId);
      await expect(commands.send('srs-adapter', 'stream.get', { streamId })).rejects.toMatchObject({ code: 'not_found' });
    });

    it('reports livekit down and the other services up', async () => {
      const livekit = await request(health).get('/health/livekit');

      expect(livekit.status).toBe(503);
      const server = livekit.body.checks.find((check: { name: string }) => check.name === 'livekit-server');
      expect(server.status).toBe('down');
      for (const target of ['srs', 'encoder', 'backend']) {
        // A busy machine can fail one readiness probe, so an up service gets a few tries.
        let last: { status: number; body: { checks: { name: string; status: string; error?: string }[] } } | undefined;
        const up = await waitFor(async () => {
          last = await request(health).get(`/health/${target}`);
          return last.status === 200;
        }, { timeoutMs: 30000, intervalMs: 1000, what: `/health/${target} up` }).catch(() => false);
        expect({ target, up, down: last?.body.checks.filter((check) => check.status === 'down') }).toEqual({ target, up: true, down: [] });
      }
    });
  });

  describe('with every service but the orchestrator stopped', () => {
    beforeAll(async () => {
      for (const name of ['encoder', 'srs-adapter', 'livekit-sdk'] as const) await platform.stopService(name);
    });

    it.each([
      ['srs', 'srs-adapter'],
      ['encoder', 'encoder'],
      ['backend', 'livekit-sdk-commands'],
    ])('/health/%s reports %s down', async (target, checkName) => {
      const res = await request(health).get(`/health/${target}`);

      expect(res.status).toBe(503);
      expect(res.body.status).toBe('down');
      const check = res.body.checks.find((entry: { name: string }) => entry.name === checkName);
      expect(check.status).toBe('down');
    });
  });
});
