import { randomBytes } from 'node:crypto';

import type { Queue } from 'bullmq';

import { eventQueueName } from '@castplane/contracts';
import type { EventEnvelope } from '@castplane/contracts';
import { createQueue } from '@castplane/redis';
import { LogCapture, baseTestEnv, tempDir, testToken, waitFor } from '@castplane/testing';

import { loadConfigFromEnv } from '../src/config';
import type { SrsAdapterConfig } from '../src/config';
import { startSrsAdapter } from '../src/service';
import type { SrsAdapter } from '../src/service';

export interface TestAdapter {
  adapter: SrsAdapter;
  config: Readonly<SrsAdapterConfig>;
  api: string;
  media: string;
  rtmp: string;
  secret: string;
  token: string;
  logs: LogCapture;
  dirs: { media: string; dvr: string };
  /** Events the adapter published, in order, as the orchestrator receives every stream event. */
  events(): Promise<EventEnvelope[]>;
  stop(): Promise<void>;
}

/** Starts an adapter in-process on free ports with its own key prefix and directories. */
export async function startTestAdapter(extra: Record<string, string> = {}): Promise<TestAdapter> {
  const secret = randomBytes(16).toString('hex');
  const media = tempDir('srs-media');
  const dvr = tempDir('srs-dvr');
  const logs = new LogCapture();
  const config = loadConfigFromEnv(baseTestEnv('srs-adapter', {
    SRS_ADAPTER_PORT: '0', RTMP_PORT: '0', MEDIA_HTTP_PORT: '0', SRS_CALLBACK_SECRET: secret,
    MEDIA_ROOT: media.path, DVR_ROOT: dvr.path, LOG_LEVEL: 'info', RECONCILE_INTERVAL_MS: '500',
    HLS_SEGMENT_SECONDS: '1', ...extra,
  }));
  const adapter = await startSrsAdapter(config, { logStream: logs.stream });
  const api = `http://127.0.0.1:${adapter.ports.api}`;
  await waitFor(async () => (await fetch(`${api}/ready`)).status === 200, { timeoutMs: 15000, what: 'adapter ready' });
  const queue: Queue = createQueue({ redisUrl: config.REDIS_URL, prefix: config.REDIS_KEY_PREFIX, logger: adapter.logger }, eventQueueName('orchestrator'));
  return {
    adapter,
    config,
    api,
    media: `http://127.0.0.1:${adapter.ports.media}`,
    rtmp: `rtmp://127.0.0.1:${adapter.ports.rtmp}`,
    secret,
    token: await testToken(['admin']),
    logs,
    dirs: { media: media.path, dvr: dvr.path },
    async events() {
      await adapter.events.flush();
      const jobs = await queue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized']);
      return jobs.map((job) => job.data as EventEnvelope).sort((a, b) => a.time.localeCompare(b.time));
    },
    async stop() {
      await queue.close();
      await adapter.shutdown.run('test');
      media.cleanup();
      dvr.cleanup();
    },
  };
}

/** Calls the adapter's API with the admin token and returns the status and the JSON body. */
export async function apiCall(t: TestAdapter, method: string, path: string, body?: unknown) {
  const response = await fetch(`${t.api}${path}`, {
    method,
    headers: { authorization: `Bearer ${t.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}
