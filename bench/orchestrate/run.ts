// Orchestration benchmark. It measures start latency (request to every step done) against the
// same five commands sent straight to the services' queues. It also measures the time from the
// first RTMP packet to the first playable ladder segment against plain ffmpeg writing the same
// ladder to disk.
//
// Usage: npm run bench:orchestrate
// Environment: BENCH_RUNS (20 start runs), BENCH_LADDER_RUNS (3 runs of each ladder case).
// Starts its own Redis and the five services from dist/apps on free 127.0.0.1 ports.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { createLogger } from '@castplane/logging';
import { CommandClient } from '@castplane/redis';
import { startOwnRedis, stopProcess, tempDir, testToken } from '@castplane/testing';

import { Platform } from '../../tests/e2e/platform';

const RUNS = Number(process.env.BENCH_RUNS ?? '20');
const LADDER_RUNS = Number(process.env.BENCH_LADDER_RUNS ?? '3');
const PROFILES = ['480p', '360p'];
const WAIT_LIMIT_MS = 120000;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function stats(values: number[]) {
  return { p50: percentile(values, 50), p99: percentile(values, 99), n: values.length };
}

/** Polls `probe` every 100 ms until it is true; returns the elapsed time from `since`. */
async function until(since: number, what: string, probe: () => Promise<boolean> | boolean): Promise<number> {
  while (Date.now() - since < WAIT_LIMIT_MS) {
    if (await Promise.resolve().then(probe).catch(() => false)) return Date.now() - since;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const SOURCE = ['-re', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'];

function publish(url: string): ChildProcess {
  return spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', ...SOURCE, '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-g', '50', '-c:a', 'aac', '-b:a', '96k', '-f', 'flv', url], { stdio: 'ignore' });
}

/** Starts one ffmpeg that writes the same ladder (480p and 360p, 2 s HLS segments) straight from the source. */
function plainLadder(dir: string): ChildProcess {
  const renditions = [
    { id: '480p', size: '854:480', bitrate: '1400k' },
    { id: '360p', size: '640:360', bitrate: '800k' },
  ];
  const graph = ['[0:v]split=2[s0][s1]', ...renditions.map((r, i) => `[s${i}]fps=25,scale=${r.size},setsar=1,format=yuv420p[v${i}]`)].join(';');
  const outputs = renditions.flatMap((r, i) => {
    mkdirSync(join(dir, r.id), { recursive: true });
    return ['-map', `[v${i}]`, '-map', '1:a', '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', r.bitrate, '-g', '50', '-keyint_min', '50', '-sc_threshold', '0', '-c:a', 'aac', '-b:a', '96k', '-f', 'hls', '-hls_time', '2', '-hls_list_size', '6', '-hls_segment_filename', join(dir, r.id, 'seg_%05d.ts'), join(dir, r.id, 'index.m3u8')];
  });
  return spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', ...SOURCE, '-filter_complex', graph, ...outputs], { stdio: 'ignore' });
}

function hasSegment(playlist: string): boolean {
  return playlist.split('\n').some((line) => line.trim() && !line.startsWith('#'));
}

async function main(): Promise<void> {
  const redis = await startOwnRedis();
  process.env.REDIS_URL = redis.url;
  Platform.build();
  const platform = new Platform();
  const children: ChildProcess[] = [];
  const logger = createLogger({ service: 'bench', level: 'error', version: 'bench', env: 'test' });
  let commands: CommandClient | undefined;
  try {
    await platform.start({ LOG_LEVEL: 'warn' });
    commands = new CommandClient({ redisUrl: redis.url, prefix: platform.env.REDIS_KEY_PREFIX!, logger });
    const api = `http://127.0.0.1:${platform.ports.api}`;
    const headers = { authorization: `Bearer ${await testToken(['admin'])}`, 'content-type': 'application/json' };
    const post = async (path: string, body: object) => (await fetch(`${api}${path}`, { method: 'POST', headers, body: JSON.stringify(body) })).json() as Promise<any>;
    const stamp = Date.now().toString(36);

    // Start latency, orchestrated and direct, interleaved so both see the same machine load.
    const orchestrated: number[] = [];
    const direct: number[] = [];
    for (let run = 0; run < RUNS; run += 1) {
      let started = Date.now();
      const record = await post('/api/stream/orchestrate/start?wait=true', { name: `bench-${stamp}-${run}`, profiles: PROFILES });
      if (record.status !== 'ready') throw new Error(`orchestration ${record.id} ended ${record.status}: ${record.error?.message}`);
      orchestrated.push(Date.now() - started);
      await post('/api/stream/orchestrate/stop?wait=true', { id: record.id });

      const name = `direct-${stamp}-${run}`;
      started = Date.now();
      const stream = await commands.send('srs-adapter', 'stream.create', { requestId: name, name, app: 'live' });
      await commands.send('livekit-server', 'room.create', { name, linkedStream: { app: 'live', name } });
      await commands.send('encoder', 'transcode.arm', { streamKey: stream.streamKey, app: 'live', name, profiles: PROFILES, record: false });
      await commands.send('livekit-sdk', 'broadcast.create', { requestId: name, title: name, roomName: name, hostIdentity: 'host' });
      await commands.send('livekit-sdk', 'token.issue', { roomName: name, identity: 'host', role: 'host' });
      direct.push(Date.now() - started);
      await commands.send('encoder', 'transcode.disarm', { streamKey: stream.streamKey });
      await commands.send('srs-adapter', 'stream.delete', { streamId: stream.streamId });
      await commands.send('livekit-server', 'room.delete', { name });
    }

    // First RTMP packet (publisher start) to the first playable segment of the ladder.
    const ladderOrchestrated: number[] = [];
    const ladderPlain: number[] = [];
    for (let run = 0; run < LADDER_RUNS; run += 1) {
      const record = await post('/api/stream/orchestrate/start?wait=true', { name: `ladder-${stamp}-${run}`, profiles: PROFILES });
      let since = Date.now();
      const publisher = publish(record.urls.rtmp);
      children.push(publisher);
      ladderOrchestrated.push(
        await until(since, 'the orchestrated ladder', async () => {
          const status = (await (await fetch(`${api}/api/stream/orchestrate/status?id=${record.id}`, { headers })).json()) as any;
          const master = status.urls?.masterPlaylist as string | undefined;
          if (!master) return false;
          const variant = new URL(`${PROFILES[0]}/index.m3u8`, master);
          const res = await fetch(variant);
          return res.ok && hasSegment(await res.text());
        }),
      );
      await stopProcess(publisher);
      await post('/api/stream/orchestrate/stop?wait=true', { id: record.id });

      const out = tempDir('bench-ladder');
      since = Date.now();
      const ffmpeg = plainLadder(out.path);
      children.push(ffmpeg);
      const playlist = join(out.path, PROFILES[0], 'index.m3u8');
      ladderPlain.push(await until(since, 'the plain ffmpeg ladder', () => existsSync(playlist) && hasSegment(readFileSync(playlist, 'utf8'))));
      await stopProcess(ffmpeg);
      out.cleanup();
    }

    const start = { orchestrated: stats(orchestrated), direct: stats(direct) };
    const ladder = { orchestrated: stats(ladderOrchestrated), plain: stats(ladderPlain) };
    console.log(JSON.stringify({ start, ladder }, null, 2));
    console.log(`start latency p50 ${start.orchestrated.p50} ms, p99 ${start.orchestrated.p99} ms (direct commands p50 ${start.direct.p50} ms, ratio ${(start.orchestrated.p50 / start.direct.p50).toFixed(2)})`);
    console.log(`first ladder segment p50 ${ladder.orchestrated.p50} ms vs plain ffmpeg ${ladder.plain.p50} ms (ratio ${(ladder.orchestrated.p50 / ladder.plain.p50).toFixed(2)}, added ${ladder.orchestrated.p50 - ladder.plain.p50} ms)`);
  } finally {
    await Promise.all(children.map((child) => stopProcess(child)));
    await commands?.close();
    await platform.stop();
    await redis.stop();
  }
}

main().catch((error: Error) => {
  console.error(`bench failed: ${error.message}`);
  process.exit(1);
});
