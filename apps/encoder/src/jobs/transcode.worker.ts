import { rm } from 'node:fs/promises';

import type { Job, Worker } from 'bullmq';
import { UnrecoverableError } from 'bullmq';

import { createRedis, createWorker } from '@castplane/redis';
import type { QueueContext } from '@castplane/redis';

import type { ProcessorDeps } from './transcode.processor';
import { createProcessor, eventSubject } from './transcode.processor';
import type { ControlMessage, TranscodeJobData, TranscodeResult } from './transcode.queue';
import { TRANSCODE_QUEUE } from './transcode.queue';

export interface WorkerDeps extends ProcessorDeps {
  queues: QueueContext;
  concurrency: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  /** Clears a key's run marker once its job has ended for good. */
  onRunEnded: (keyId: string, jobId: string) => Promise<void>;
}

export interface TranscodeWorker {
  worker: Worker<TranscodeJobData, TranscodeResult>;
  /** Stops every ffmpeg child, hands their jobs back to the queue and closes the worker. */
  close(): Promise<void>;
}

/** Runs transcode jobs and listens for stop and cancel requests sent to any replica. */
export function startTranscodeWorker(deps: WorkerDeps): TranscodeWorker {
  const worker = createWorker<TranscodeJobData, TranscodeResult>(deps.queues, TRANSCODE_QUEUE, createProcessor(deps), {
    concurrency: deps.concurrency,
    lockDuration: deps.lockDurationMs,
    stalledInterval: deps.stalledIntervalMs,
  });
  worker.on('completed', (job, result) => void onCompleted(deps, job, result));
  worker.on('failed', (job, error) => {
    if (job) void onFailed(deps, job, error);
  });
  worker.on('stalled', (jobId) => deps.logger.warn('transcode stalled; another worker will retry it', { jobId }));

  const subscriber = createRedis(deps.queues.redisUrl, { name: 'encoder-control', logger: deps.logger });
  void subscriber.subscribe(deps.keys.control);
  subscriber.on('message', (_channel, text: string) => {
    const message = parseControl(text);
    if (message && worker.cancelJob(message.jobId, message.reason)) {
      deps.logger.info('transcode stop signalled', { jobId: message.jobId, reason: message.reason });
    }
  });

  return {
    worker,
    close: async () => {
      worker.cancelAllJobs('shutdown');
      await worker.close();
      subscriber.disconnect();
    },
  };
}

function parseControl(text: string): ControlMessage | undefined {
  try {
    const message = JSON.parse(text) as ControlMessage;
    return typeof message.jobId === 'string' ? message : undefined;
  } catch {
    return undefined;
  }
}

async function onCompleted(deps: WorkerDeps, job: Job<TranscodeJobData>, result: TranscodeResult): Promise<void> {
  const { app, name } = eventSubject(job.data);
  deps.logs.add({ level: 'info', source: 'service', jobId: job.id, msg: `transcode completed${result.stopped ? ' (stopped)' : ''}` });
  await endRun(deps, job);
  await deps.publisher
    .publish('transcode.completed', { jobId: job.id!, app, name, outputs: result.outputs }, `${job.id}-completed`)
    .catch((error: Error) => deps.logger.warn('event publish failed', { event: 'transcode.completed', jobId: job.id, err: error.message }));
}

// Runs for every failed attempt; only the last one (or an unrecoverable error) ends the run.
async function onFailed(deps: WorkerDeps, job: Job<TranscodeJobData>, error: Error): Promise<void> {
  const final = error instanceof UnrecoverableError || error.name === 'UnrecoverableError' || (await job.getState()) === 'failed';
  deps.logger.warn('transcode failed', { jobId: job.id, keyId: job.data.keyId, attempt: job.attemptsMade, final, err: error.message });
  deps.logs.add({ level: 'error', source: 'service', jobId: job.id, msg: `transcode failed: ${error.message}` });
  if (!final) return;
  await endRun(deps, job);
  const { app, name } = eventSubject(job.data);
  await deps.publisher
    .publish('transcode.failed', { jobId: job.id!, app, name, error: error.message }, `${job.id}-failed`)
    .catch((publishError: Error) => deps.logger.warn('event publish failed', { event: 'transcode.failed', jobId: job.id, err: publishError.message }));
}

async function endRun(deps: WorkerDeps, job: Job<TranscodeJobData>): Promise<void> {
  try {
    // A recording's job id can return with a retried request, and an old stop must not end the new run.
    await deps.redis.del(deps.keys.stopRequested(job.id!));
    if (job.data.keyId) await deps.onRunEnded(job.data.keyId, job.id!);
    if (job.data.removeSource) await rm(job.data.source, { force: true });
  } catch (error) {
    deps.logger.warn('transcode cleanup failed', { jobId: job.id, err: error instanceof Error ? error.message : String(error) });
  }
}
