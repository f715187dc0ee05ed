import { rm } from 'node:fs/promises';

import type { Job, JobType, Queue } from 'bullmq';
import type Redis from 'ioredis';

import { AppError } from '@castplane/errors';
import type { Logger } from '@castplane/logging';

import { CANCELLED_MESSAGE } from '../jobs/transcode.processor';
import type { ControlMessage, StopReason, TranscodeJobData, TranscodeResult } from '../jobs/transcode.queue';
import type { EncoderKeys } from './redis-keys';

export type TranscodeJob = Job<TranscodeJobData, TranscodeResult>;

/** A job as the API shows it: no source URL (it may carry credentials) and no stream key. */
export interface JobView {
  id: string;
  kind: TranscodeJobData['kind'];
  state: string;
  keyId?: string;
  app?: string;
  name?: string;
  runId: string;
  profiles: string[];
  progress: unknown;
  outputs: string[];
  masterPlaylistPath?: string;
  /** True when the job was stopped on request rather than reaching the end of its source. */
  stopped?: boolean;
  error?: string;
  attemptsMade: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
}

export const LIVE_STATES: JobType[] = ['active', 'waiting', 'delayed', 'prioritized', 'waiting-children'];
const ALL_STATES: JobType[] = [...LIVE_STATES, 'completed', 'failed'];
// Jobs scanned when a list is filtered by key; older ones are not shown.
const FILTER_SCAN_LIMIT = 2000;

/** Queue-level job operations shared by the REST routes, commands and events. */
export class JobService {
  constructor(
    private readonly queue: Queue<TranscodeJobData, TranscodeResult>,
    private readonly redis: Redis,
    private readonly keys: EncoderKeys,
    private readonly logger: Logger,
    private readonly jobOptions: { attempts: number; backoffMs: number },
  ) {}

  async enqueue(data: TranscodeJobData, jobId: string): Promise<TranscodeJob> {
    const job = await this.queue.add(data.kind, data, {
      jobId,
      attempts: this.jobOptions.attempts,
      backoff: { type: 'exponential', delay: this.jobOptions.backoffMs },
    });
    this.logger.info('transcode queued', { jobId, kind: data.kind, keyId: data.keyId, profiles: data.profiles.map((profile) => profile.id) });
    return job;
  }

  async find(jobId: string): Promise<TranscodeJob | undefined> {
    return (await this.queue.getJob(jobId)) ?? undefined;
  }

  async get(jobId: string): Promise<JobView> {
    const job = await this.find(jobId);
    if (!job) throw jobNotFound(jobId);
    return this.view(job);
  }

  /** Tells whether a job is queued or running, so a second run of the same key is not started. */
  async isLive(jobId: string | null | undefined): Promise<boolean> {
    if (!jobId) return false;
    const job = await this.find(jobId);
    return Boolean(job && LIVE_STATES.includes((await job.getState()) as JobType));
  }

  async list(filter: { state?: string; keyId?: string; page: number; pageSize: number }): Promise<{ items: JobView[]; page: number; pageSize: number; total: number }> {
    // Cancelled jobs are failed jobs with the cancel reason, so they are looked up among failed ones.
    let states = ALL_STATES;
    if (filter.state === 'cancelled') states = ['failed'];
    else if (filter.state) states = [filter.state as JobType];
    const start = (filter.page - 1) * filter.pageSize;
    if (!filter.keyId && filter.state !== 'cancelled') {
      const jobs = await this.queue.getJobs(states, start, start + filter.pageSize - 1);
      const counts = await this.queue.getJobCounts(...states);
      const total = Object.values(counts).reduce((sum, count) => sum + count, 0);
      return { items: await Promise.all(jobs.filter(Boolean).map((job) => this.view(job))), page: filter.page, pageSize: filter.pageSize, total };
    }
    const scanned = (await this.queue.getJobs(states, 0, FILTER_SCAN_LIMIT - 1)).filter(Boolean);
    const views = await Promise.all(scanned.filter((job) => !filter.keyId || job.data.keyId === filter.keyId).map((job) => this.view(job)));
    const matching = filter.state ? views.filter((view) => view.state === filter.state) : views;
    return { items: matching.slice(start, start + filter.pageSize), page: filter.page, pageSize: filter.pageSize, total: matching.length };
  }

  /**
   * Ends a job: a running one gets its ffmpeg stopped by whichever worker runs it, a queued one is
   * removed. Returns the state the job is in or moving to.
   */
  async requestStop(jobId: string, reason: Exclude<StopReason, 'shutdown'>): Promise<string> {
    const job = await this.find(jobId);
    if (!job) throw jobNotFound(jobId);
    const state = await job.getState();
    if (state === 'completed' || state === 'failed') {
      throw new AppError('failed_precondition', `job "${jobId}" has already ${state}`, { reason: 'job_finished' });
    }
    // The keys outlive the pub/sub message: the worker also reads them when a job starts and while
    // it runs, so a stop sent while no worker listens still takes effect.
    if (reason === 'cancel') await this.redis.set(this.keys.cancelled(jobId), '1', 'EX', 24 * 3600);
    else await this.redis.set(this.keys.stopRequested(jobId), '1', 'EX', 24 * 3600);
    if (state !== 'active') {
      await job.remove();
      if (job.data.removeSource) await rm(job.data.source, { force: true });
      this.logger.info('queued transcode removed', { jobId, reason });
      return reason === 'cancel' ? 'cancelled' : 'removed';
    }
    const message: ControlMessage = { jobId, reason };
    await this.redis.publish(this.keys.control, JSON.stringify(message));
    this.logger.info('transcode stop requested', { jobId, reason });
    return reason === 'cancel' ? 'cancelling' : 'stopping';
  }

  /** Profile ids of every queued or running job. */
  async profilesInUse(): Promise<Set<string>> {
    const jobs = await this.queue.getJobs(LIVE_STATES, 0, FILTER_SCAN_LIMIT - 1);
    return new Set(jobs.filter(Boolean).flatMap((job) => job.data.profiles.map((profile) => profile.id)));
  }

  async view(loaded: TranscodeJob): Promise<JobView> {
    const state = await loaded.getState();
    // The job may have finished between loading it and reading its state: reload it for the result.
    const finished = (state === 'completed' || state === 'failed') && !loaded.finishedOn;
    const job = (finished ? await this.find(loaded.id!) : undefined) ?? loaded;
    const cancelled = state === 'failed' && job.failedReason === CANCELLED_MESSAGE;
    const data = job.data;
    return {
      id: job.id!,
      kind: data.kind,
      state: cancelled ? 'cancelled' : state,
      keyId: data.keyId,
      app: data.app,
      name: data.name,
      runId: data.runId,
      profiles: data.profiles.map((profile) => profile.id),
      progress: job.progress,
      outputs: job.returnvalue?.outputs ?? [],
      masterPlaylistPath: job.returnvalue?.masterPlaylistPath,
      stopped: job.returnvalue?.stopped,
      error: job.failedReason || undefined,
      attemptsMade: job.attemptsMade,
      createdAt: new Date(job.timestamp).toISOString(),
      startedAt: job.processedOn ? new Date(job.processedOn).toISOString() : undefined,
      finishedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : undefined,
    };
  }
}

export function jobNotFound(jobId: string): AppError {
  return new AppError('not_found', `job "${jobId}" not found`, { details: [{ field: 'params.jobId', message: 'not found' }] });
}
