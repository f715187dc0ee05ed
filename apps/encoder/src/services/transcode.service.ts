import { createHash, randomBytes } from 'node:crypto';

import type Redis from 'ioredis';

import { AppError } from '@castplane/errors';
import type { Logger } from '@castplane/logging';

import type { TranscodeJobData } from '../jobs/transcode.queue';
import type { StreamConfig } from '../schemas/stream-config.schema';
import type { JobService } from './job.service';
import type { EncoderKeys } from './redis-keys';
import { keyIdOf, streamField } from './redis-keys';
import type { StreamConfigService } from './stream-config.service';

export interface RunState {
  state: 'armed' | 'running';
  masterPlaylistPath: string;
  jobId?: string;
}

/** Creates a run id that sorts by time and is unique across replicas. */
export function newRunId(): string {
  return `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** Starts, stops and arms the ladder of each configured stream key; one run per key at a time. */
export class TranscodeService {
  constructor(
    private readonly redis: Redis,
    private readonly keys: EncoderKeys,
    private readonly configs: StreamConfigService,
    private readonly jobs: JobService,
    private readonly logger: Logger,
    private readonly mediaRtmpUrl: string,
  ) {}

  /**
   * Arms the key and starts it now when its source is available: the stream is live, or the
   * config names its own source instead of the media server.
   */
  async start(streamKey: string): Promise<RunState> {
    const config = await this.configs.get(streamKey);
    return this.armConfig(config, config.source !== undefined);
  }

  /** Arms the key so the next publish starts it; starts now when the stream is live or `startNow`. */
  async armConfig(config: StreamConfig, startNow = false): Promise<RunState> {
    await this.redis.sadd(this.keys.armed, config.keyId);
    const live = (await this.redis.hexists(this.keys.live, streamField(config.app, config.name))) === 1;
    if (live || startNow) return this.startRun(config);
    const runId = await this.nextRunId(config.keyId);
    this.logger.info('transcode armed', { keyId: config.keyId, app: config.app, stream: config.name });
    return { state: 'armed', masterPlaylistPath: `${config.keyId}/${runId}/master.m3u8` };
  }

  /** Stops the running ladder and disarms the key, so the next publish does not start it. */
  async stop(streamKey: string): Promise<{ stopped: boolean; jobId?: string }> {
    const config = await this.configs.get(streamKey);
    await this.redis.srem(this.keys.armed, config.keyId);
    return this.stopRun(config.keyId);
  }

  async restart(streamKey: string): Promise<RunState> {
    const config = await this.configs.get(streamKey);
    await this.stopRun(config.keyId);
    return this.armConfig(config, config.source !== undefined);
  }

  /** Stops any run, disarms and deletes the key's config. */
  async disarm(streamKey: string): Promise<{ removed: boolean }> {
    const keyId = keyIdOf(streamKey);
    await this.stopRun(keyId);
    await this.redis.srem(this.keys.armed, keyId);
    const config = await this.configs.findByKeyId(keyId);
    if (!config) return { removed: false };
    await this.configs.delete(streamKey);
    return { removed: true };
  }

  async stopRun(keyId: string): Promise<{ stopped: boolean; jobId?: string }> {
    const jobId = await this.redis.hget(this.keys.runs, keyId);
    if (!jobId || !(await this.jobs.isLive(jobId))) return { stopped: false };
    await this.jobs.requestStop(jobId, 'stop');
    await this.clearRun(keyId, jobId);
    return { stopped: true, jobId };
  }

  /** Starts a run unless one is already queued or running, so duplicate triggers start one ladder. */
  async startRun(config: StreamConfig): Promise<RunState> {
    const lock = this.keys.startLock(config.keyId);
    const token = randomBytes(8).toString('hex');
    if ((await this.redis.set(lock, token, 'PX', 15000, 'NX')) !== 'OK') {
      throw new AppError('unavailable', 'this stream key is being started by another request; retry shortly', { reason: 'start_in_progress' });
    }
    try {
      const current = await this.redis.hget(this.keys.runs, config.keyId);
      if (current && (await this.jobs.isLive(current))) {
        const job = await this.jobs.find(current);
        return { state: 'running', jobId: current, masterPlaylistPath: `${job!.data.outputDir}/master.m3u8` };
      }
      return await this.enqueueRun(config);
    } finally {
      await this.redis.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0", 1, lock, token);
    }
  }

  /** Per key, or every configured key: armed, live, and the current job. */
  async status(streamKey?: string) {
    if (streamKey) return this.keyStatus(await this.configs.get(streamKey));
    const [configs, armed, runs, live] = await Promise.all([
      this.redis.hlen(this.keys.configs),
      this.redis.scard(this.keys.armed),
      this.redis.hgetall(this.keys.runs),
      this.redis.hlen(this.keys.live),
    ]);
    const running = await Promise.all(Object.values(runs).map((jobId) => this.jobs.isLive(jobId)));
    return { configs, armed, liveStreams: live, running: running.filter(Boolean).length };
  }

  /** Starts an MP4 recording of a live stream; `requestId` makes a retried request reuse its job. */
  async startRecording(input: { app: string; name: string; label: string; requestId: string }) {
    const runId = newRunId();
    const label = input.label.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').slice(0, 48) || 'recording';
    const jobId = `rec-${createHash('sha256').update(input.requestId).digest('hex').slice(0, 16)}`;
    const existing = await this.jobs.find(jobId);
    if (existing) return { jobId, outputPath: existing.data.recordPath! };
    const outputPath = `recordings/${input.app}/${input.name}/${label}-${runId}.mp4`;
    const data: TranscodeJobData = {
      kind: 'record', app: input.app, name: input.name, runId, source: this.liveSource(input.app, input.name),
      realtime: false, outputDir: `recordings/${input.app}/${input.name}`, profiles: [],
      hls: { segmentSeconds: 2, playlistSize: 6 }, recordPath: outputPath, rtmpPush: [],
    };
    await this.jobs.enqueue(data, jobId);
    return { jobId, outputPath };
  }

  private async keyStatus(config: StreamConfig) {
    const [armed, live, jobId] = await Promise.all([
      this.redis.sismember(this.keys.armed, config.keyId),
      this.redis.hexists(this.keys.live, streamField(config.app, config.name)),
      this.redis.hget(this.keys.runs, config.keyId),
    ]);
    const job = jobId ? await this.jobs.find(jobId) : undefined;
    return {
      keyId: config.keyId,
      app: config.app,
      name: config.name,
      armed: armed === 1,
      live: live === 1,
      job: job ? await this.jobs.view(job) : null,
    };
  }

  private async enqueueRun(config: StreamConfig): Promise<RunState> {
    const runId = await this.nextRunId(config.keyId);
    const outputDir = `${config.keyId}/${runId}`;
    const fileSource = config.source?.startsWith('file:') ?? false;
    const data: TranscodeJobData = {
      kind: 'live', keyId: config.keyId, app: config.app, name: config.name, runId,
      source: config.source ?? this.liveSource(config.app, config.name),
      realtime: fileSource, outputDir, profiles: await this.configs.ladder(config), hls: config.hls,
      recordPath: config.outputs.record ? `${outputDir}/recording.mp4` : undefined, rtmpPush: config.outputs.rtmpPush,
    };
    const jobId = `live-${config.keyId}-${runId}`;
    await this.jobs.enqueue(data, jobId);
    await this.redis.multi().hset(this.keys.runs, config.keyId, jobId).hdel(this.keys.nextRun, config.keyId).exec();
    this.logger.info('transcode started', { keyId: config.keyId, app: config.app, stream: config.name, jobId });
    return { state: 'running', jobId, masterPlaylistPath: `${outputDir}/master.m3u8` };
  }

  // The run id is chosen when a key is armed, so the playlist path is known before the stream starts.
  private async nextRunId(keyId: string): Promise<string> {
    await this.redis.hsetnx(this.keys.nextRun, keyId, newRunId());
    return (await this.redis.hget(this.keys.nextRun, keyId))!;
  }

  async clearRun(keyId: string, jobId: string): Promise<void> {
    await this.redis.eval("if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0", 1, this.keys.runs, keyId, jobId);
  }

  private liveSource(app: string, name: string): string {
    return `${this.mediaRtmpUrl.replace(/\/+$/, '')}/${app}/${name}`;
  }
}
