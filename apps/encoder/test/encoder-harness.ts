import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import request from 'supertest';

import type { RunningService } from '@castplane/http';
import { LogCapture, baseTestEnv, tempDir, testToken, waitFor } from '@castplane/testing';

import { loadConfigFromEnv } from '../src/config';
import { startEncoder } from '../src/service';

/** A 144p profile that encodes fast, for tests that only need one small rendition. */
export const TINY_PROFILE = {
  id: '144p',
  name: '144p',
  width: 256,
  height: 144,
  fps: 25,
  videoBitrateKbps: 200,
  maxrateKbps: 220,
  bufsizeKbps: 300,
  h264Profile: 'baseline',
  audioBitrateKbps: 48,
};

export interface Harness {
  service: RunningService;
  env: NodeJS.ProcessEnv;
  mediaRoot: string;
  logs: LogCapture;
  token: string;
  api: () => request.Agent;
  monitoring: () => request.Agent;
  stop(): Promise<void>;
}

/** Starts an encoder on free ports with its own key prefix and media root. */
export async function startHarness(label: string, extra: Record<string, string> = {}, shared?: { env: NodeJS.ProcessEnv; mediaRoot: string }): Promise<Harness> {
  const media = shared ? undefined : tempDir(`encoder-${label}`);
  const mediaRoot = shared?.mediaRoot ?? media!.path;
  const env: NodeJS.ProcessEnv = {
    ...(shared?.env ?? baseTestEnv(`enc${label}`)),
    ENCODER_API_PORT: '0',
    ENCODER_MONITORING_PORT: '0',
    MEDIA_ROOT: mediaRoot,
    MEDIA_RTMP_URL: 'rtmp://127.0.0.1:1',
    ENCODER_KILL_GRACE_MS: '3000',
    ENCODER_JOB_BACKOFF_MS: '200',
    ENCODER_WORKER_CONCURRENCY: '1',
    ...extra,
  };
  const logs = new LogCapture();
  const service = await startEncoder(loadConfigFromEnv(env), { logStream: logs.stream });
  const token = await testToken(['admin']);
  const agent = (port: number) => request.agent(`http://127.0.0.1:${port}`).set('Authorization', `Bearer ${token}`);
  return {
    service,
    env,
    mediaRoot,
    logs,
    token,
    api: () => agent(service.ports.api),
    monitoring: () => agent(service.ports.monitoring),
    stop: async () => {
      await service.shutdown.run('test');
      media?.cleanup();
    },
  };
}

/** Writes a short test pattern with a tone, like a camera recording, under the media root. */
export function makeTestMedia(mediaRoot: string, name: string, options: { seconds?: number; width?: number; height?: number } = {}): Promise<string> {
  const dir = join(mediaRoot, 'sources');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  const size = `${options.width ?? 640}x${options.height ?? 360}`;
  const args = [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=25`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', String(options.seconds ?? 6),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '25', '-c:a', 'aac', '-b:a', '64k', path,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => (code === 0 ? resolve(path) : reject(new Error(`ffmpeg could not write ${name}: ${stderr}`))));
  });
}

/** Polls a job until it reaches one of `states`. */
export async function waitForJobState(harness: Harness, jobId: string, states: string[], timeoutMs = 90000): Promise<Record<string, any>> {
  return waitFor(
    async () => {
      const res = await harness.api().get(`/api/encoder/jobs/${jobId}`);
      return res.status === 200 && states.includes(res.body.state) ? (res.body as Record<string, any>) : undefined;
    },
    { timeoutMs, intervalMs: 250, what: `job ${jobId} in state ${states.join(' or ')}` },
  );
}

/** Reports whether a process id is still running. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function segmentsOf(dir: string): string[] {
  return readdirSync(dir).filter((file) => file.endsWith('.ts')).sort();
}

export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}
