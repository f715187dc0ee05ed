import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';

import request from 'supertest';

import { baseTestEnv, ensureBundles, freePort, stopProcess, testToken, waitFor } from '@castplane/testing';

import { CommandFixtures } from './command-fixtures';

const root = join(__dirname, '..', '..', '..');
const bundle = join(root, 'dist', 'apps', 'orchestrator', 'main.js');


describe('orchestrator crash recovery', () => {
  const env = baseTestEnv('orchcrash', {
    ORCHESTRATOR_FLOW_LOCK_MS: '2000',
    ORCHESTRATOR_STEP_TIMEOUT_MS: '60000',
    ORCHESTRATOR_STEP_BACKOFF_MS: '50',
  });
  const fixtures = new CommandFixtures({ redisUrl: env.REDIS_URL!, prefix: env.REDIS_KEY_PREFIX! });
  const children: ChildProcess[] = [];

  async function launch(): Promise<string> {
    const port = await freePort();
    const child = spawn(process.execPath, [bundle], {
      env: { ...env, ORCHESTRATOR_API_PORT: String(port), ORCHESTRATOR_HEALTH_PORT: String(await freePort()) },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(child);
    const api = `http://127.0.0.1:${port}`;
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`the orchestrator exited with ${child.exitCode}`);
        const res = await fetch(`${api}/ready`, { signal: AbortSignal.timeout(3000) });
        if (!res.ok) throw new Error(`/ready returned ${res.status}: ${await res.text()}`);
        return true;
      },
      { timeoutMs: 60000, intervalMs: 250, what: 'orchestrator ready' },
    );
    return api;
  }

  beforeAll(() => {
    ensureBundles(['orchestrator']);
    fixtures.start();
  });

  afterAll(async () => {
    await Promise.all(children.map((child) => stopProcess(child)));
    await fixtures.close();
  });

  it('finishes the flow after kill -9 mid-step with each step done once', async () => {
    const token = await testToken(['write']);
    const release = fixtures.hold('encoder transcode.arm');
    const first = await launch();
    const started = await request(first).post('/api/stream/orchestrate/start').set('authorization', `Bearer ${token}`).send({ name: 'crash-event' });
    expect(started.status).toBe(202);
    await waitFor(() => fixtures.commandsOf('encoder').includes('transcode.arm'), { timeoutMs: 30000, what: 'transcode.arm sent' });

    children[0].kill('SIGKILL');
    await waitFor(() => children[0].exitCode !== null || children[0].signalCode !== null, { what: 'first orchestrator exited' });
    const second = await launch();
    release();

    const done = await waitFor(
      async () => {
        const res = await request(second).get(`/api/stream/orchestrate/status?id=${started.body.id}`).set('authorization', `Bearer ${token}`);
        return res.body.status === 'ready' ? res.body : undefined;
      },
      { timeoutMs: 45000, intervalMs: 250, what: 'orchestration ready after restart' },
    );
    expect(done.steps.every((step: { state: string }) => step.state === 'completed')).toBe(true);
    expect(done.steps.find((step: { name: string }) => step.name === 'transcode').attempts).toBe(1);
    expect(fixtures.commandsOf('encoder').filter((command) => command === 'transcode.arm')).toHaveLength(1);
    expect(fixtures.commandsOf('srs-adapter').filter((command) => command === 'stream.create')).toHaveLength(1);
    expect(fixtures.commandsOf('livekit-server').filter((command) => command === 'room.create')).toHaveLength(1);
    expect(fixtures.created).toEqual({ streams: 1, rooms: 1, arms: 1, broadcasts: 1, tokens: 1 });
  });
});
