import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { baseTestEnv, ensureBundles, freePort, stopProcess, tempDir, waitFor } from '@castplane/testing';

const root = join(__dirname, '..', '..');

export const SERVICE_ORDER = ['srs-adapter', 'encoder', 'livekit-server', 'livekit-sdk', 'orchestrator'] as const;
export type PlatformService = (typeof SERVICE_ORDER)[number];

export interface PlatformPorts {
  srs: number;
  rtmp: number;
  media: number;
  encoder: number;
  encoderMonitoring: number;
  livekit: number;
  livekitAdmin: number;
  sdk: number;
  sdkWebhooks: number;
  api: number;
  health: number;
}

/** The five services started from their built bundles on free ports, sharing Redis and secrets. */
export class Platform {
  readonly processes = new Map<PlatformService, ChildProcess>();
  readonly dir = tempDir('e2e');
  env: NodeJS.ProcessEnv = {};
  ports!: PlatformPorts;

  /**
   * Builds every app into dist/apps unless each bundle is newer than every source file. `npm test`
   * builds before jest starts, and rebuilding then would rewrite bundles that other suites are
   * starting at that moment.
   */
  static build(): void {
    ensureBundles(SERVICE_ORDER);
  }

  async start(extra: Record<string, string> = {}): Promise<void> {
    const names = ['srs', 'rtmp', 'media', 'encoder', 'encoderMonitoring', 'livekit', 'livekitAdmin', 'sdk', 'sdkWebhooks', 'api', 'health'] as const;
    const ports = {} as PlatformPorts;
    for (const name of names) ports[name] = await freePort();
    this.ports = ports;
    const mediaRoot = join(this.dir.path, 'media');
    mkdirSync(mediaRoot, { recursive: true });
    mkdirSync(join(this.dir.path, 'logs'), { recursive: true });
    const livekitKey = `APIe2e${randomBytes(4).toString('hex')}`;
    this.env = baseTestEnv('e2e', {
      LOG_LEVEL: 'info',
      SRS_ADAPTER_PORT: String(ports.srs),
      RTMP_PORT: String(ports.rtmp),
      MEDIA_HTTP_PORT: String(ports.media),
      SRS_CALLBACK_SECRET: randomBytes(16).toString('hex'),
      MEDIA_ROOT: mediaRoot,
      DVR_ROOT: join(this.dir.path, 'dvr'),
      PUBLIC_RTMP_URL: `rtmp://127.0.0.1:${ports.rtmp}`,
      PUBLIC_HTTP_URL: `http://127.0.0.1:${ports.media}`,
      ENCODER_API_PORT: String(ports.encoder),
      ENCODER_MONITORING_PORT: String(ports.encoderMonitoring),
      MEDIA_RTMP_URL: `rtmp://127.0.0.1:${ports.rtmp}`,
      LIVEKIT_CLIENT_PORT: String(ports.livekit),
      LIVEKIT_ADMIN_PORT: String(ports.livekitAdmin),
      LIVEKIT_API_KEY: livekitKey,
      LIVEKIT_API_SECRET: randomBytes(24).toString('hex'),
      LIVEKIT_WEBHOOK_URLS: `http://127.0.0.1:${ports.sdkWebhooks}/webhooks/livekit`,
      LIVEKIT_SDK_API_PORT: String(ports.sdk),
      LIVEKIT_SDK_WEBHOOK_PORT: String(ports.sdkWebhooks),
      LIVEKIT_URL: `http://127.0.0.1:${ports.livekit}`,
      LIVEKIT_SIGNAL_URL: `ws://127.0.0.1:${ports.livekit}`,
      ORCHESTRATOR_API_PORT: String(ports.api),
      ORCHESTRATOR_HEALTH_PORT: String(ports.health),
      SRS_ADAPTER_URL: `http://127.0.0.1:${ports.srs}`,
      ENCODER_URL: `http://127.0.0.1:${ports.encoder}`,
      ENCODER_MONITORING_URL: `http://127.0.0.1:${ports.encoderMonitoring}`,
      LIVEKIT_SERVER_URL: `http://127.0.0.1:${ports.livekit}`,
      LIVEKIT_SERVER_ADMIN_URL: `http://127.0.0.1:${ports.livekitAdmin}`,
      LIVEKIT_SDK_URL: `http://127.0.0.1:${ports.sdk}`,
      MEDIA_PUBLIC_URL: `http://127.0.0.1:${ports.media}/media`,
      ORCHESTRATOR_STEP_TIMEOUT_MS: '8000',
      ORCHESTRATOR_STEP_ATTEMPTS: '2',
      ORCHESTRATOR_HEALTH_TIMEOUT_MS: '5000',
      ORCHESTRATOR_FLOW_LOCK_MS: '3000',
      ...extra,
    });
    for (const name of SERVICE_ORDER) this.spawn(name);
    await Promise.all(SERVICE_ORDER.map((name) => this.waitReady(name)));
  }

  /** Returns the URL whose `/ready` returns 200 once a service is up. */
  readyUrl(name: PlatformService): string {
    const port = { 'srs-adapter': this.ports.srs, encoder: this.ports.encoder, 'livekit-server': this.ports.livekit, 'livekit-sdk': this.ports.sdk, orchestrator: this.ports.api }[name];
    return `http://127.0.0.1:${port}/ready`;
  }

  spawn(name: PlatformService): void {
    const log = createWriteStream(join(this.dir.path, 'logs', `${name}.log`), { flags: 'a' });
    const child = spawn(process.execPath, ['--enable-source-maps', join(root, 'dist', 'apps', name, 'main.js')], {
      cwd: this.dir.path,
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    this.processes.set(name, child);
  }

  async waitReady(name: PlatformService): Promise<void> {
    const child = this.processes.get(name)!;
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}; see ${this.logFile(name)}`);
        return (await fetch(this.readyUrl(name), { signal: AbortSignal.timeout(2000) })).ok;
      },
      { timeoutMs: 60000, intervalMs: 250, what: `${name} ready` },
    );
  }

  logFile(name: PlatformService): string {
    return join(this.dir.path, 'logs', `${name}.log`);
  }

  async stopService(name: PlatformService): Promise<void> {
    const child = this.processes.get(name);
    if (child) await stopProcess(child, 10000);
  }

  async stop(): Promise<void> {
    for (const name of [...SERVICE_ORDER].reverse()) await this.stopService(name);
    // Set E2E_KEEP_DIR=1 to keep the media and service logs for a look after the run.
    if (!process.env.E2E_KEEP_DIR) this.dir.cleanup();
  }
}

