import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';

import type { Scope } from '@castplane/auth';
import { sha256, signServiceToken } from '@castplane/auth';
import { flushLogs } from '@castplane/logging';

/** Secrets for tests: random per run, never committed. */
export const TEST_JWT_SECRET = randomBytes(32).toString('hex');
export const TEST_ISSUER = 'castplane';

/** Asks the kernel for a free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Returns the URL of the Redis that scripts/test.sh started for this run. */
export function testRedisUrl(): string {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('REDIS_URL is not set: run the tests with npm test, which starts Redis');
  return url;
}

/** Returns a key prefix unique to one test file, so suites sharing one Redis never read each other's keys. */
export function uniquePrefix(label: string): string {
  return `t-${label.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 12)}-${randomBytes(4).toString('hex')}`;
}

/** Returns the base environment a service needs in tests: the test secret, Redis and its own key prefix. */
export function baseTestEnv(label: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    REDIS_URL: testRedisUrl(),
    REDIS_KEY_PREFIX: uniquePrefix(label),
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    AUTH_JWT_ISSUER: TEST_ISSUER,
    SHUTDOWN_TIMEOUT_MS: '5000',
    ...extra,
  };
}

/** Signs a bearer token for tests with the test secret. */
export function testToken(scope: Scope[] = ['admin'], options: { ttlSeconds?: number; secret?: string } = {}): Promise<string> {
  return signServiceToken(
    { sub: 'test-suite', scope },
    { secret: options.secret ?? TEST_JWT_SECRET, issuer: TEST_ISSUER, ttlSeconds: options.ttlSeconds ?? 600 },
  );
}

/** Returns an `API_KEYS` entry for `key` with the given scopes. */
export function apiKeyEntry(id: string, key: string, scopes: Scope[]): string {
  return `${id}:${scopes.join('+')}:${sha256(key).toString('hex')}`;
}

/** Polls `probe` until it returns a truthy value, at most `timeoutMs`. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 10000);
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
  }
  const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
  throw new Error(`timed out waiting for ${options.what ?? 'condition'}${detail}`);
}

/** A started redis-server of a test's own, bound to 127.0.0.1, for tests that stop Redis. */
export interface OwnRedis {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startOwnRedis(port?: number): Promise<OwnRedis> {
  const chosen = port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'castplane-redis-'));
  const child = spawn(
    'redis-server',
    ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${chosen}`;
  await waitFor(() => canConnect(chosen), { timeoutMs: 5000, what: `redis on ${chosen}` });
  return {
    url,
    port: chosen,
    process: child,
    stop: () => stopProcess(child).then(() => rmSync(dir, { recursive: true, force: true })),
  };
}

/**
 * Reports whether a socket listens on 127.0.0.1:`port`, read from /proc/net/tcp (Linux). Unlike
 * {@link canConnect} it opens no connection, which `ffmpeg -listen 1` would take as its one client.
 */
export function isListening(port: number): boolean {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .some((line) => {
      const fields = line.trim().split(/\s+/);
      return fields[1] === local && fields[3] === '0A';
    });
}

/** Resolves true when a TCP connection to 127.0.0.1:`port` opens. */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Sends SIGTERM, then SIGKILL after `graceMs`, and resolves when the process has exited. */
export function stopProcess(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Collects log lines written by a service under test. */
export class LogCapture {
  readonly stream = new PassThrough();
  private text = '';

  constructor() {
    this.stream.on('data', (chunk: Buffer) => {
      this.text += chunk.toString('utf8');
    });
  }

  get output(): string {
    flushLogs();
    return this.text;
  }

  lines(): Record<string, unknown>[] {
    return this.output
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

/**
 * Starts ffmpeg publishing a synthetic test pattern (video and a sine tone) to `url` for
 * `seconds` (until stopped when omitted), in real time.
 */
export function publishTestSource(
  url: string,
  options: { seconds?: number; width?: number; height?: number; fps?: number; format?: string } = {},
): ChildProcess {
  const size = `${options.width ?? 640}x${options.height ?? 360}`;
  const fps = options.fps ?? 25;
  const duration = options.seconds ? ['-t', String(options.seconds)] : [];
  return spawn(
    'ffmpeg',
    [
      '-hide_banner', '-loglevel', 'error', '-re',
      '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${fps}`,
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
      ...duration,
      '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
      '-g', String(fps), '-c:a', 'aac', '-b:a', '64k',
      '-f', options.format ?? 'flv', url,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
}

/** Runs ffprobe on a file or URL and returns its JSON description of streams and format. */
export function ffprobe(target: string, timeoutMs = 20000): Promise<FfprobeResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', target], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(out) as FfprobeResult);
      else reject(new Error(`ffprobe ${code}: ${err.trim().slice(0, 500)}`));
    });
  });
}

export interface FfprobeResult {
  streams: { codec_type: string; codec_name: string; width?: number; height?: number; avg_frame_rate?: string; sample_rate?: string; channels?: number }[];
  format: { duration?: string; format_name: string; size?: string };
}

/** Creates a temporary directory that `cleanup()` removes. */
export function tempDir(label: string): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), `castplane-${label}-`));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

const REPOSITORY_ROOT = join(__dirname, '..', '..', '..');

function newestSource(dir: string): number {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** Path of an app's built bundle, `dist/apps/<app>/main.js`. */
export function bundlePath(app: string): string {
  return join(REPOSITORY_ROOT, 'dist', 'apps', app, 'main.js');
}

/**
 * Builds the apps' bundles unless each is newer than its sources and the libs. `npm test` builds
 * everything before jest starts, so suites running in parallel normally rebuild nothing and never
 * rewrite a bundle that another suite is starting.
 */
export function ensureBundles(apps: readonly string[]): void {
  const libs = newestSource(join(REPOSITORY_ROOT, 'libs'));
  const stale = apps.filter((app) => {
    const bundle = bundlePath(app);
    if (!existsSync(bundle)) return true;
    const sources = Math.max(libs, newestSource(join(REPOSITORY_ROOT, 'apps', app, 'src')));
    return statSync(bundle).mtimeMs < sources;
  });
  if (stale.length === 0) return;
  execFileSync(process.execPath, [join(REPOSITORY_ROOT, 'scripts', 'build.mjs'), ...stale], {
    cwd: REPOSITORY_ROOT,
    stdio: 'ignore',
  });
}
