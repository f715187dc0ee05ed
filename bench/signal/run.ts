/**
 * Signalling benchmark: relayed messages per second and p99 latency through `/signal` against a
 * bare `ws` relay in the same run, joins per second, and memory per idle connection.
 * Both servers run as child processes on 127.0.0.1; the clients run here. Bounded in time.
 * Usage: npm run bench:signal  (SIGNAL_BENCH_IDLE=5000 SIGNAL_BENCH_MESSAGES=20000 to change sizes)
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

import { AccessToken } from 'livekit-server-sdk';
import WebSocket from 'ws';

import { freePort, startOwnRedis, stopProcess, waitFor } from '@castplane/testing';

const ROOT = join(__dirname, '..', '..');
const PAIRS = 10;
const WINDOW = 16;
const MESSAGES = Number(process.env.SIGNAL_BENCH_MESSAGES ?? 20000);
const JOINS = Number(process.env.SIGNAL_BENCH_JOINS ?? 500);
const ROOM_SIZE = 10;
const ROUNDS = 3;
const IDLE_TARGET = Number(process.env.SIGNAL_BENCH_IDLE ?? 5000);
const DEADLINE = Date.now() + 10 * 60 * 1000;

// A bare relay with the same message shape: JSON in, look up the target, JSON out.
const BARE_RELAY = `
const { WebSocketServer } = require('ws');
const peers = new Map();
const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.argv[1]) });
wss.on('connection', (ws, req) => {
  const id = new URL(req.url, 'http://x').searchParams.get('id');
  peers.set(id, ws);
  ws.send(JSON.stringify({ type: 'joined' }));
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString());
    const target = peers.get(message.to);
    if (target) target.send(JSON.stringify({ ...message, from: id }));
  });
  ws.on('close', () => { if (peers.get(id) === ws) peers.delete(id); });
});`;

interface Target {
  label: string;
  process: ChildProcess;
  url: (room: string, identity: string) => Promise<string>;
}

function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}

function openSocket(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    const timer = setTimeout(() => reject(new Error('join timed out')), 20000);
    socket.once('message', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

async function inBatches<T>(count: number, concurrency: number, make: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let start = 0; start < count && Date.now() < DEADLINE; start += concurrency) {
    const batch = Array.from({ length: Math.min(concurrency, count - start) }, (_, offset) => make(start + offset));
    results.push(...(await Promise.all(batch)));
  }
  return results;
}

interface RelayResult {
  perSecond: number;
  p50: number;
  p99: number;
  count: number;
}

function medianBy<T>(values: T[], key: (value: T) => number): T {
  return [...values].sort((a, b) => key(a) - key(b))[Math.floor(values.length / 2)];
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** PAIRS senders each keep WINDOW messages in flight to their receiver until MESSAGES / ROUNDS are relayed. */
async function relayThroughput(target: Target, round: number): Promise<RelayResult> {
  const room = `bench-relay-${round}`;
  const pairs = await inBatches(PAIRS, PAIRS, async (index) => ({
    sender: await openSocket(await target.url(room, `s${round}-${index}`)),
    receiver: await openSocket(await target.url(room, `r${round}-${index}`)),
    index,
  }));
  const latencies: number[] = [];
  const perPair = Math.floor(MESSAGES / ROUNDS / PAIRS);
  const started = process.hrtime.bigint();
  await Promise.all(
    pairs.map(
      ({ sender, receiver, index }) =>
        new Promise<void>((resolve) => {
          let sent = 0;
          let received = 0;
          const send = () => {
            sent += 1;
            sender.send(JSON.stringify({ type: 'offer', to: `r${round}-${index}`, sdp: `${process.hrtime.bigint()}` }));
          };
          receiver.on('message', (data) => {
            const message = JSON.parse(data.toString()) as { type: string; sdp?: string };
            if (message.type !== 'offer') return;
            latencies.push(Number(process.hrtime.bigint() - BigInt(message.sdp ?? '0')) / 1e6);
            received += 1;
            if (received >= perPair || Date.now() > DEADLINE) return resolve();
            if (sent < perPair) send();
          });
          for (let i = 0; i < WINDOW; i += 1) send();
        }),
    ),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  for (const { sender, receiver } of pairs) {
    sender.terminate();
    receiver.terminate();
  }
  return { perSecond: latencies.length / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), count: latencies.length };
}

/** Joins into rooms of ROOM_SIZE participants, the size of a typical interactive room. */
async function joinRate(target: Target, round: number) {
  const urls = await Promise.all(
    Array.from({ length: JOINS }, (_, index) => target.url(`bench-joins-${round}-${Math.floor(index / ROOM_SIZE)}`, `j${round}-${index}`)),
  );
  const started = process.hrtime.bigint();
  const sockets = await inBatches(JOINS, 25, (index) => openSocket(urls[index]));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  for (const socket of sockets) socket.terminate();
  return sockets.length / seconds;
}

async function idleMemory(target: Target, count: number) {
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const before = rssBytes(target.process.pid!);
  const urls: string[] = [];
  for (let index = 0; index < count; index += 1) urls.push(await target.url(`bench-idle-${Math.floor(index / ROOM_SIZE)}`, `i${index}`));
  const sockets = await inBatches(count, 50, (index) => openSocket(urls[index]));
  // Let the garbage of the joins (snapshots, broadcasts) be collected before reading RSS.
  await new Promise((resolve) => setTimeout(resolve, 5000));
  const after = rssBytes(target.process.pid!);
  for (const socket of sockets) socket.terminate();
  return { connections: sockets.length, bytesPerConnection: (after - before) / sockets.length, before, after };
}

async function startLivekit(redisUrl: string): Promise<Target & { adminPort: number }> {
  execFileSync('node', ['scripts/build.mjs', 'livekit-server'], { cwd: ROOT, stdio: 'ignore' });
  const [clientPort, adminPort] = [await freePort(), await freePort()];
  const apiKey = 'APIbench';
  const apiSecret = randomBytes(24).toString('hex');
  const child = spawn('node', [join(ROOT, 'dist/apps/livekit-server/main.js')], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      LOG_LEVEL: 'error',
      HOST: '127.0.0.1',
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: 'bench',
      AUTH_JWT_SECRET: randomBytes(32).toString('hex'),
      LIVEKIT_API_KEY: apiKey,
      LIVEKIT_API_SECRET: apiSecret,
      LIVEKIT_WEBHOOK_URLS: '',
      LIVEKIT_CLIENT_PORT: String(clientPort),
      LIVEKIT_ADMIN_PORT: String(adminPort),
    },
    stdio: 'ignore',
  });
  await waitFor(async () => (await fetch(`http://127.0.0.1:${clientPort}/health`)).ok, { timeoutMs: 20000, what: 'livekit-server' });
  const url = async (room: string, identity: string) => {
    const token = new AccessToken(apiKey, apiSecret, { identity, ttl: '1h' });
    token.addGrant({ roomJoin: true, room });
    return `ws://127.0.0.1:${clientPort}/signal/${room}?access_token=${await token.toJwt()}`;
  };
  return { label: 'livekit-server /signal', process: child, url, adminPort };
}

async function startBare(): Promise<Target> {
  const port = await freePort();
  const child = spawn('node', ['-e', BARE_RELAY, String(port)], { cwd: ROOT, stdio: 'ignore' });
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const socket = new WebSocket(`ws://127.0.0.1:${port}/?id=probe`);
        socket.once('open', () => {
          socket.terminate();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      }),
    { timeoutMs: 10000, what: 'bare relay' },
  );
  return { label: 'bare ws relay', process: child, url: async (_room, identity) => `ws://127.0.0.1:${port}/?id=${identity}` };
}

function fdLimit(): number {
  return Number(execFileSync('sh', ['-c', 'ulimit -n']).toString().trim()) || 1024;
}

async function main(): Promise<void> {
  const redis = await startOwnRedis();
  const livekit = await startLivekit(redis.url);
  const bare = await startBare();
  try {
    // Each idle connection costs one descriptor here and one in the server process.
    const idleCount = Math.min(IDLE_TARGET, fdLimit() - 200);
    // The machine is shared, so the two targets alternate over ROUNDS and the median round counts.
    const relayRounds = { bare: [] as RelayResult[], livekit: [] as RelayResult[] };
    const joinRounds = { bare: [] as number[], livekit: [] as number[] };
    for (let round = 0; round < ROUNDS; round += 1) {
      relayRounds.bare.push(await relayThroughput(bare, round));
      relayRounds.livekit.push(await relayThroughput(livekit, round));
      joinRounds.bare.push(await joinRate(bare, round));
      joinRounds.livekit.push(await joinRate(livekit, round));
    }
    const results = {
      relayBare: medianBy(relayRounds.bare, (result) => result.perSecond),
      relayLivekit: medianBy(relayRounds.livekit, (result) => result.perSecond),
      joinsBare: medianBy(joinRounds.bare, (rate) => rate),
      joinsLivekit: medianBy(joinRounds.livekit, (rate) => rate),
      idleBare: await idleMemory(bare, idleCount),
      idleLivekit: await idleMemory(livekit, idleCount),
    };
    const report = {
      date: new Date().toISOString(),
      machine: `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), node ${process.version}, fd limit ${fdLimit()}`,
      relay: {
        livekit: results.relayLivekit,
        bare: results.relayBare,
        throughputRatio: results.relayLivekit.perSecond / results.relayBare.perSecond,
      },
      joinsPerSecond: { livekit: results.joinsLivekit, bare: results.joinsBare, ratio: results.joinsLivekit / results.joinsBare },
      idle: {
        livekit: results.idleLivekit,
        bare: results.idleBare,
        ratio: results.idleLivekit.bytesPerConnection / results.idleBare.bytesPerConnection,
      },
    };
    console.log(JSON.stringify(report, null, 2));
  } finally {
    await stopProcess(livekit.process);
    await stopProcess(bare.process);
    await redis.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
