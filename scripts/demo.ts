// Runs one live event against the services that `npm start` runs. It starts an orchestration and
// publishes a test source (or the file or URL given as the first argument) to its RTMP URL. Once
// the ladder's HLS master playlist is playable, it prints the playback URLs, room and tokens.
// Ctrl-C stops the publisher and the orchestration.
//
// Usage: npm run demo [-- <file or URL>]
// Environment: ORCHESTRATOR_URL (http://127.0.0.1:4000), DEMO_NAME (demo-<time>), DEMO_PROFILES
// (720p,480p,360p), DEMO_TIMEOUT_SECONDS (180, per wait), DEMO_HOLD_SECONDS (unset: run until
// Ctrl-C), AUTH_JWT_SECRET or AUTH_JWT_SECRET_FILE (otherwise the development secret from .data).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { signServiceToken } from '@castplane/auth';

const env = process.env;
const orchestratorUrl = (env.ORCHESTRATOR_URL ?? 'http://127.0.0.1:4000').replace(/\/$/, '');
const name = env.DEMO_NAME ?? `demo-${Date.now().toString(36)}`;
const profiles = (env.DEMO_PROFILES ?? '720p,480p,360p').split(',');
const timeoutMs = Number(env.DEMO_TIMEOUT_SECONDS ?? '180') * 1000;
const holdSeconds = env.DEMO_HOLD_SECONDS ? Number(env.DEMO_HOLD_SECONDS) : undefined;
const source = process.argv[2];

let publisher: ChildProcess | undefined;
let orchestrationId: string | undefined;
let stopping = false;
let bearer = '';

function say(message: string): void {
  process.stdout.write(`[demo] ${message}\n`);
}

async function jwtSecret(): Promise<string> {
  if (env.AUTH_JWT_SECRET) return env.AUTH_JWT_SECRET;
  if (env.AUTH_JWT_SECRET_FILE) return readFileSync(env.AUTH_JWT_SECRET_FILE, 'utf8').trim();
  // dev-env.mjs is plain JavaScript without type declarations, so it is loaded by URL.
  const devEnv = (await import(pathToFileURL(join(__dirname, 'dev-env.mjs')).href)) as { loadDevEnv(): Record<string, string> };
  return devEnv.loadDevEnv().AUTH_JWT_SECRET;
}

async function call(method: 'GET' | 'POST', path: string, body?: object): Promise<{ status: number; body: any }> {
  const response = await fetch(`${orchestratorUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(Math.max(timeoutMs, 10000) + 5000),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {} };
}

/** Polls `probe` every second until it returns a value, printing `what` every 5 s, at most `timeoutMs`. */
async function waitUntil<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const started = Date.now();
  let lastReport = 0;
  while (Date.now() - started < timeoutMs && !stopping) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() - lastReport >= 5000) {
      lastReport = Date.now();
      say(`waiting for ${what} (${Math.round((Date.now() - started) / 1000)} s)`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  throw new Error(stopping ? 'stopped' : `timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

function ffmpegArgs(rtmpUrl: string): string[] {
  const encode = ['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-g', '50', '-c:a', 'aac', '-b:a', '96k', '-ar', '44100', '-f', 'flv', rtmpUrl];
  if (!source) {
    return ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', ...encode];
  }
  // A local file is read at its own frame rate and looped; a camera or network URL is live already.
  const input = existsSync(source) ? ['-re', '-stream_loop', '-1', '-i', source] : ['-i', source];
  return ['-hide_banner', '-loglevel', 'error', ...input, ...encode];
}

function startPublisher(rtmpUrl: string): void {
  say(source ? `publishing ${source}` : 'publishing an ffmpeg test pattern (1280x720, 25 fps, 440 Hz tone)');
  publisher = spawn('ffmpeg', ffmpegArgs(rtmpUrl), { stdio: ['ignore', 'ignore', 'inherit'] });
  publisher.on('error', (error) => say(`ffmpeg could not start: ${error.message}`));
  publisher.on('exit', (code, signal) => {
    if (stopping) return;
    say(`ffmpeg exited (${signal ?? code}); stopping the orchestration`);
    void shutdown(code === 0 ? 0 : 1);
  });
}

async function stopPublisher(): Promise<void> {
  const child = publisher;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function shutdown(code: number): Promise<never> {
  if (stopping) process.exit(code);
  stopping = true;
  await stopPublisher();
  if (orchestrationId) {
    say(`stopping orchestration ${orchestrationId}`);
    const stopped = await call('POST', `/api/stream/orchestrate/stop?wait=true&timeoutMs=${Math.min(timeoutMs, 60000)}`, { id: orchestrationId }).catch(
      (error: Error) => ({ status: 0, body: { message: error.message } }),
    );
    say(stopped.status === 200 ? `orchestration ${stopped.body.status}` : `stop returned HTTP ${stopped.status}: ${stopped.body.message ?? ''}`);
  }
  process.exit(code);
}

async function startOrchestration(): Promise<any> {
  say(`starting orchestration "${name}" with profiles ${profiles.join(', ')}`);
  const started = await call('POST', `/api/stream/orchestrate/start?wait=true&timeoutMs=${Math.min(timeoutMs, 600000)}`, {
    name,
    title: `Demo ${name}`,
    profiles,
    hostIdentity: 'demo-host',
  });
  if (started.status >= 400) throw new Error(`start returned HTTP ${started.status}: ${started.body.message}`);
  orchestrationId = started.body.id;
  const record = started.body.status === 'starting' ? await waitUntil('the orchestration steps', () => settled(started.body.id)) : started.body;
  for (const step of record.steps) say(`  step ${step.name.padEnd(10)} ${step.state} (attempts ${step.attempts})`);
  if (record.status !== 'ready') throw new Error(`orchestration ${record.status}: ${record.error?.message ?? 'see its status'}`);
  return record;
}

async function settled(id: string): Promise<any> {
  const { body } = await call('GET', `/api/stream/orchestrate/status?id=${id}`);
  return ['starting', 'rolling_back'].includes(body.status) ? undefined : body;
}

/** Waits for the master playlist and one segment of its first rendition, then returns the playlist URL. */
async function waitForLadder(id: string): Promise<{ masterUrl: string; renditions: number }> {
  return waitUntil('the ladder (publish live, transcode running, first segment)', async () => {
    const { body } = await call('GET', `/api/stream/orchestrate/status?id=${id}`);
    const masterUrl: string | undefined = body.urls?.masterPlaylist;
    if (body.media?.publish !== 'live' || !masterUrl) return undefined;
    const master = await fetch(masterUrl, { signal: AbortSignal.timeout(5000) });
    if (!master.ok) return undefined;
    const variants = (await master.text()).split('\n').filter((line) => line && !line.startsWith('#'));
    if (variants.length === 0) return undefined;
    const variant = await fetch(new URL(variants[0], masterUrl), { signal: AbortSignal.timeout(5000) });
    const hasSegment = variant.ok && (await variant.text()).split('\n').some((line) => line && !line.startsWith('#'));
    return hasSegment ? { masterUrl, renditions: variants.length } : undefined;
  });
}

async function main(): Promise<void> {
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  bearer = await signServiceToken({ sub: 'demo', scope: ['write', 'read'] }, { secret: await jwtSecret(), issuer: env.AUTH_JWT_ISSUER ?? 'castplane', ttlSeconds: 12 * 3600 });
  const ready = await fetch(`${orchestratorUrl}/ready`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
  if (!ready?.ok) throw new Error(`the orchestrator at ${orchestratorUrl} is not ready: start the services with npm start`);

  const record = await startOrchestration();
  const startedAt = Date.now();
  startPublisher(record.urls.rtmp);
  const { masterUrl, renditions } = await waitForLadder(record.id);
  say(`ladder playable ${((Date.now() - startedAt) / 1000).toFixed(1)} s after the publish started`);
  const viewer = await call('POST', '/api/stream/orchestrate/token', { id: record.id, identity: `viewer-${Date.now().toString(36)}`, role: 'viewer' });

  say('');
  say(`orchestration  ${record.id}`);
  say(`HLS (ladder)   ${masterUrl}  (${renditions} renditions)`);
  say(`HLS (source)   ${record.urls.hls}`);
  say(`FLV            ${record.urls.flv}`);
  say(`RTMP publish   ${record.urls.rtmp}  (contains the stream key: keep it private)`);
  say(`room           ${record.urls.room}  signal ${record.urls.signal ?? '(see livekit-server)'}`);
  say(`host token     ${record.hostToken}`);
  say(`viewer token   ${viewer.status === 201 ? viewer.body.token : `not issued (${viewer.status}: ${viewer.body.message})`}`);
  say('');
  say(`try: ffplay ${masterUrl}`);
  if (holdSeconds !== undefined) {
    say(`stopping in ${holdSeconds} s`);
    setTimeout(() => void shutdown(0), holdSeconds * 1000);
  } else {
    say('press Ctrl-C to stop');
  }
}

main().catch((error: Error) => {
  if (stopping) return;
  say(`failed: ${error.message}`);
  void shutdown(1);
});
