import { spawn } from 'node:child_process';

import { signServiceToken } from '@castplane/auth';
import type { ServiceName } from '@castplane/contracts';
import type Redis from 'ioredis';
import { pingRedis } from '@castplane/redis';

import type { CommandGateway } from '../clients/command.gateway';
import type { OrchestratorConfig } from '../config';

export interface CheckResult {
  name: string;
  status: 'up' | 'down';
  durationMs: number;
  detail?: unknown;
  error?: string;
}

export interface HealthReport {
  service: string;
  status: 'up' | 'down';
  durationMs: number;
  checks: CheckResult[];
}

export type HealthTarget = 'srs' | 'livekit' | 'encoder' | 'backend';

/** Asks each service and what it depends on whether it is up, each check bounded by a timeout. */
export class HealthService {
  constructor(
    private readonly config: Readonly<OrchestratorConfig>,
    private readonly redis: Redis,
    private readonly gateway: CommandGateway,
  ) {}

  async report(target: HealthTarget): Promise<HealthReport> {
    const started = Date.now();
    const checks = await Promise.all(this.checksFor(target).map(([name, run]) => this.timed(name, run)));
    const status = checks.every((check) => check.status === 'up') ? 'up' : 'down';
    return { service: target, status, durationMs: Date.now() - started, checks };
  }

  private checksFor(target: HealthTarget): [string, () => Promise<unknown>][] {
    const c = this.config;
    switch (target) {
      case 'srs':
        return [['srs-adapter', () => this.ready(c.SRS_ADAPTER_URL)], ['commands', () => this.queue('srs-adapter')]];
      case 'livekit':
        return [
          ['livekit-server', () => this.ready(c.LIVEKIT_SERVER_URL)],
          ['livekit-server-admin', () => this.ready(c.LIVEKIT_SERVER_ADMIN_URL)],
          ['livekit-sdk', () => this.ready(c.LIVEKIT_SDK_URL)],
          ['commands', () => this.queue('livekit-server')],
        ];
      case 'encoder':
        return [
          ['encoder', () => this.ready(c.ENCODER_URL)],
          ['encoder-monitoring', () => this.json(`${c.ENCODER_MONITORING_URL}/api/encoder/health`)],
          ['commands', () => this.queue('encoder')],
        ];
      case 'backend':
        return [
          ['redis', () => pingRedis(this.redis, c.ORCHESTRATOR_HEALTH_TIMEOUT_MS).then(() => ({ ping: 'PONG' }))],
          ['ffmpeg', () => this.ffmpeg()],
          ['livekit-sdk-commands', () => this.queue('livekit-sdk')],
        ];
    }
  }

  // Caches a successful `ffmpeg -version` for a minute: health is polled often, and starting
  // ffmpeg on every poll costs more than the check is worth on a busy host.
  private ffmpegChecked?: { at: number; result: { version: string } };

  private async ffmpeg(): Promise<{ version: string }> {
    if (this.ffmpegChecked && Date.now() - this.ffmpegChecked.at < 60000) return this.ffmpegChecked.result;
    const result = await ffmpegVersion(this.config.ORCHESTRATOR_HEALTH_TIMEOUT_MS);
    this.ffmpegChecked = { at: Date.now(), result };
    return result;
  }

  private async timed(name: string, run: () => Promise<unknown>): Promise<CheckResult> {
    const started = Date.now();
    const timeoutMs = this.config.ORCHESTRATOR_HEALTH_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const detail = await Promise.race([run(), timeout]);
      return { name, status: 'up', durationMs: Date.now() - started, detail };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const detail = (error as { detail?: unknown }).detail;
      return { name, status: 'down', durationMs: Date.now() - started, error: message, ...(detail ? { detail } : {}) };
    } finally {
      clearTimeout(timer);
    }
  }

  private ready(baseUrl: string): Promise<unknown> {
    return this.json(`${baseUrl.replace(/\/$/, '')}/ready`);
  }

  /** Fetches a JSON route with a short-lived service token. A non-2xx status counts as down. */
  private async json(url: string): Promise<unknown> {
    const token = await signServiceToken(
      { sub: 'orchestrator', scope: ['read'] },
      { secret: this.config.AUTH_JWT_SECRET, issuer: this.config.AUTH_JWT_ISSUER, ttlSeconds: 60 },
    );
    const response = await fetch(url, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      signal: AbortSignal.timeout(this.config.ORCHESTRATOR_HEALTH_TIMEOUT_MS),
    });
    const text = await response.text();
    let body: unknown = text.slice(0, 2000);
    try {
      body = JSON.parse(text);
    } catch {
      // Keep the text because some routes return plain text.
    }
    if (!response.ok) throw Object.assign(new Error(`${url} returned HTTP ${response.status}`), { detail: body });
    return body;
  }

  /** Reads a command queue's backlog and worker count. A queue without a worker counts as down. */
  private async queue(service: ServiceName): Promise<unknown> {
    const state = await this.gateway.queueState(service);
    if (state.workers === 0) throw Object.assign(new Error(`no worker consumes the ${service} command queue`), { detail: state });
    return state;
  }
}

function ffmpegVersion(timeoutMs: number): Promise<{ version: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', ['-hide_banner', '-version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve({ version: out.split('\n')[0] ?? '' });
      else reject(new Error(`ffmpeg -version exited with ${code}`));
    });
  });
}
