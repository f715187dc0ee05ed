import type { Queue } from 'bullmq';
import type Redis from 'ioredis';
import pidusage from 'pidusage';

import { pingRedis } from '@castplane/redis';

import { ffmpegVersion } from '../clients/ffprobe.client';
import type { RunningJobs } from '../jobs/running-jobs';
import type { TranscodeWorker } from '../jobs/transcode.worker';

export interface MonitoringDeps {
  queue: Queue;
  redis: Redis;
  running: RunningJobs;
  worker?: TranscodeWorker;
  ffmpegPath: string;
  concurrency: number;
}

/** Stats and health of the encoding queue and of this replica's workers and ffmpeg children. */
export class MonitoringService {
  private version?: { value?: string; error?: string; checkedAt: number };

  constructor(private readonly deps: MonitoringDeps) {}

  /** ffmpeg's version line, cached for a minute so `/ready` does not spawn a process every time. */
  async ffmpeg(): Promise<{ found: boolean; version?: string; error?: string }> {
    if (!this.version || Date.now() - this.version.checkedAt > 60000) {
      try {
        this.version = { value: await ffmpegVersion(this.deps.ffmpegPath), checkedAt: Date.now() };
      } catch (error) {
        this.version = { error: error instanceof Error ? error.message : String(error), checkedAt: Date.now() };
      }
    }
    return { found: Boolean(this.version.value), version: this.version.value, error: this.version.error };
  }

  /** Readiness check: rejects when ffmpeg cannot be run. */
  async requireFfmpeg(): Promise<void> {
    const ffmpeg = await this.ffmpeg();
    if (!ffmpeg.found) throw new Error(ffmpeg.error ?? 'ffmpeg not found');
  }

  async stats() {
    const running = this.deps.running.list();
    const usage = await usageOf([process.pid, ...running.map((job) => job.pid).filter((pid) => pid > 0)]);
    const counts = await this.deps.queue.getJobCounts('active', 'waiting', 'delayed', 'prioritized', 'completed', 'failed');
    const workers = await this.deps.queue.getWorkers();
    return {
      queue: counts,
      workers: { connected: workers.length, localEnabled: Boolean(this.deps.worker), localConcurrency: this.deps.worker ? this.deps.concurrency : 0 },
      jobs: running.map((job) => ({
        jobId: job.jobId,
        kind: job.kind,
        keyId: job.keyId,
        pid: job.pid,
        runningSeconds: Math.round((Date.now() - job.startedAt) / 1000),
        fps: job.progress?.fps ?? null,
        speed: job.progress?.speed ?? null,
        bitrateKbps: job.progress?.bitrateKbps ?? null,
        outTimeSeconds: job.progress?.outTimeSeconds ?? null,
        cpuPercent: usage[job.pid]?.cpu ?? null,
        memoryBytes: usage[job.pid]?.memory ?? null,
      })),
      process: { cpuPercent: usage[process.pid]?.cpu ?? null, memoryBytes: process.memoryUsage().rss },
    };
  }

  async health() {
    const [redis, ffmpeg] = await Promise.all([
      pingRedis(this.deps.redis).then(() => ({ status: 'up' }), (error: Error) => ({ status: 'down', error: error.message })),
      this.ffmpeg(),
    ]);
    const queue = redis.status === 'up' ? await this.deps.queue.getJobCounts('active', 'waiting', 'delayed', 'prioritized') : null;
    const workers = redis.status === 'up' ? (await this.deps.queue.getWorkers()).length : null;
    const localRunning = this.deps.worker ? this.deps.worker.worker.isRunning() : null;
    const healthy = redis.status === 'up' && ffmpeg.found && localRunning !== false;
    return {
      status: healthy ? 'ok' : 'degraded',
      redis,
      ffmpeg,
      workers: { connected: workers, localEnabled: Boolean(this.deps.worker), localRunning },
      queueDepth: queue ? (queue.waiting ?? 0) + (queue.delayed ?? 0) + (queue.prioritized ?? 0) : null,
      queue,
    };
  }
}

async function usageOf(pids: number[]): Promise<Record<number, { cpu: number; memory: number }>> {
  const result: Record<number, { cpu: number; memory: number }> = {};
  await Promise.all(
    pids.map(async (pid) => {
      try {
        const stat = await pidusage(pid);
        result[pid] = { cpu: Math.round(stat.cpu * 10) / 10, memory: stat.memory };
      } catch {
        // The process ended between listing and sampling.
      }
    }),
  );
  return result;
}
