import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';

import { SERVICES, SERVICE_NAMES } from '@castplane/contracts';
import type { ServiceName } from '@castplane/contracts';
import { freePort, startOwnRedis, stopProcess, tempDir, uniquePrefix, waitFor } from '@castplane/testing';
import type { OwnRedis } from '@castplane/testing';

const root = join(__dirname, '..', '..');

/** Fresh values for every development secret, from the same generators `npm start` uses. */
function generatedSecrets(): Record<string, string> {
  const script = "import('./scripts/dev-env.mjs').then((m) => process.stdout.write(JSON.stringify(m.generateSecrets())))";
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' }));
}

interface Started {
  child: ChildProcess;
  ports: Record<string, number>;
  stderr: () => string;
  stdout: () => string;
}

async function startService(name: ServiceName, redisUrl: string, cwd: string, secrets: Record<string, string>): Promise<Started> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: uniquePrefix(name),
    SHUTDOWN_TIMEOUT_MS: '4000',
    ...secrets,
  };
  const ports: Record<string, number> = {};
  const definition = SERVICES[name];
  for (const [listener, { env: variable }] of Object.entries({ ...definition.listeners, ...definition.mediaPorts })) {
    ports[listener] = await freePort();
    env[variable] = String(ports[listener]);
  }
  const child = spawn(process.execPath, [join(root, 'dist', 'apps', name, 'main.js')], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return { child, ports, stderr: () => err, stdout: () => out };
}

async function get(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, text: await res.text() };
}

describe.each(SERVICE_NAMES)('%s process', (name) => {
  let redis: OwnRedis;
  let service: Started;
  const dir = tempDir(`boot-${name}`);
  const listeners = Object.keys(SERVICES[name].listeners);

  beforeAll(async () => {
    redis = await startOwnRedis();
    service = await startService(name, redis.url, dir.path, generatedSecrets());
    const first = listeners[0];
    await waitFor(() => get(`http://127.0.0.1:${service.ports[first]}/health`).then((res) => res.status === 200), {
      timeoutMs: 20000,
      what: `${name} to listen (stderr: ${service.stderr().slice(0, 300)})`,
    });
  });

  afterAll(async () => {
    await stopProcess(service.child, 8000);
    await redis.stop();
    dir.cleanup();
  });

  it.each(listeners)('answers /health, /ready, /metrics and /openapi.json on %s', async (listener) => {
    const base = `http://127.0.0.1:${service.ports[listener]}`;
    const health = await get(`${base}/health`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.text)).toMatchObject({ status: 'ok', service: name });
    const ready = await waitFor(() => get(`${base}/ready`).then((res) => (res.status === 200 ? res : undefined)), {
      timeoutMs: 15000,
      what: `${name} ${listener} ready`,
    });
    expect(JSON.parse(ready.text).checks.redis.status).toBe('up');
    const metrics = await get(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('http_requests_total');
    const openapi = await get(`${base}/openapi.json`);
    expect(JSON.parse(openapi.text).openapi).toBe('3.0.3');
  });

  it('answers /ready with 503 naming redis once Redis stops', async () => {
    await redis.stop();
    const base = `http://127.0.0.1:${service.ports[listeners[0]]}`;
    const down = await waitFor(() => get(`${base}/ready`).then((res) => (res.status === 503 ? res : undefined)), {
      timeoutMs: 10000,
      what: `${name} readiness to fail`,
    });
    expect(JSON.parse(down.text).failing).toContain('redis');
  });

  it('exits with code 0 within its deadline on SIGTERM', async () => {
    redis = await startOwnRedis(redis.port);
    const base = `http://127.0.0.1:${service.ports[listeners[0]]}`;
    await waitFor(() => get(`${base}/ready`).then((res) => res.status === 200), { timeoutMs: 15000, what: `${name} ready again` });
    const exited = new Promise<number | null>((resolve) => service.child.once('exit', (code) => resolve(code)));
    const started = Date.now();
    service.child.kill('SIGTERM');
    const code = await exited;
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(8000);
    expect(service.stdout()).toContain('"msg":"stopped"');
  });
});

describe('startup with an invalid environment', () => {
  it('lists every problem and exits non-zero before listening', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [join(root, 'dist', 'apps', 'orchestrator', 'main.js')], {
      env: { PATH: process.env.PATH, ORCHESTRATOR_API_PORT: 'not-a-port', ORCHESTRATOR_HEALTH_PORT: String(port), RATE_LIMIT_MAX: '-4' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    const line = JSON.parse(err.trim().split('\n').pop() as string);
    expect(line.msg).toBe('invalid configuration');
    const problems = (line.problems as string[]).join('\n');
    expect(problems).toMatch(/AUTH_JWT_SECRET/);
    expect(problems).toMatch(/ORCHESTRATOR_API_PORT/);
    expect(problems).toMatch(/RATE_LIMIT_MAX/);
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  });
});
