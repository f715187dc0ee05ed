// Starts Redis (unless one already listens at REDIS_URL) and the five services with development secrets,
// prints their URLs, and stops everything it started on Ctrl-C or SIGTERM.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

import { loadDevEnv } from './dev-env.mjs';

const root = new URL('..', import.meta.url).pathname;
const SERVICES = [
  ['srs-adapter', { api: 1985, rtmp: 1935, 'hls/flv': 8080 }],
  ['encoder', { api: 9001, monitoring: 9002 }],
  ['livekit-server', { client: 7880, admin: 7881 }],
  ['livekit-sdk', { api: 3001, webhooks: 3002 }],
  ['orchestrator', { api: 4000, health: 4001 }],
];

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const children = [];
let stopping = false;

function reachable(url) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port || 6379), hostname || '127.0.0.1');
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

function run(name, command, args, env) {
  const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`[start] ${name} exited (${signal ?? code}); stopping everything`);
      void stop(1);
    }
  });
  children.push({ name, child });
  return child;
}

async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  // Services first, Redis last, each by the pid this script started.
  for (const { child } of [...children].reverse()) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
  process.exit(code);
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
process.on('SIGHUP', () => void stop(0));
// A SIGTERM sent to `npm start` stops npm and its shell without reaching this script. This process
// is then re-parented, so a changed parent pid also stops everything it started.
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) void stop(0);
}, 1000).unref();

const secrets = loadDevEnv();
if (await reachable(redisUrl)) {
  console.error(`[start] using the Redis already listening at ${redisUrl}`);
} else {
  const { port } = new URL(redisUrl);
  const dir = join(root, '.data', 'redis');
  mkdirSync(dir, { recursive: true });
  console.error(`[start] starting redis-server on 127.0.0.1:${port || 6379} (append-only data in .data/redis)`);
  run('redis', 'redis-server', [
    '--port', String(port || 6379), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '',
    '--logfile', join(dir, 'redis.log'),
  ], process.env);
  const deadline = Date.now() + 5000;
  while (!(await reachable(redisUrl))) {
    if (Date.now() > deadline) {
      console.error('[start] redis-server did not start; see .data/redis/redis.log');
      await stop(1);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const env = { NODE_ENV: 'development', ...secrets, ...process.env, REDIS_URL: redisUrl };
for (const [name] of SERVICES) {
  run(name, process.execPath, ['--enable-source-maps', join(root, 'dist', 'apps', name, 'main.js')], env);
}

console.error('\n[start] services:');
for (const [name, ports] of SERVICES) {
  const urls = Object.entries(ports).map(([label, port]) => `${label} ${label === 'rtmp' ? 'rtmp' : 'http'}://127.0.0.1:${port}`);
  console.error(`  ${name.padEnd(15)} ${urls.join('  ')}`);
}
console.error('\n[start] a token for curl: npm run --silent token -- --scope admin');
console.error('[start] Ctrl-C stops everything started here.\n');
