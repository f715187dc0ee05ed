import type { ConnectionOptions, JobsOptions, Processor, WorkerOptions } from 'bullmq';
import { FlowProducer, Queue, QueueEvents, UnrecoverableError, Worker } from 'bullmq';

import { AppError } from '@castplane/errors';
import type { ErrorCode } from '@castplane/errors';
import type { Logger } from '@castplane/logging';

import { bullConnectionOptions } from './connection';

/** The Redis location and key prefix that every queue, worker and event listener needs. */
export interface QueueContext {
  redisUrl: string;
  prefix: string;
  logger: Logger;
}

/** Completed jobs are kept an hour (at most 1000), so a retried producer still finds the result. */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 24 * 3600, count: 5000 },
};

function connection(context: QueueContext): ConnectionOptions {
  return bullConnectionOptions(context.redisUrl) as ConnectionOptions;
}

export function createQueue<Data = unknown, Result = unknown>(
  context: QueueContext,
  name: string,
  defaultJobOptions: JobsOptions = DEFAULT_JOB_OPTIONS,
) {
  const queue = new Queue<Data, Result>(name, {
    connection: connection(context),
    prefix: context.prefix,
    defaultJobOptions,
  });
  queue.on('error', (error) => context.logger.warn('queue error', { queue: name, err: error.message }));
  return queue;
}

export function createWorker<Data = unknown, Result = unknown>(
  context: QueueContext,
  name: string,
  processor: Processor<Data, Result>,
  options: Partial<Omit<WorkerOptions, 'connection' | 'prefix'>> = {},
){
  const worker = new Worker<Data, Result>(name, processor, {
    connection: connection(context),
    prefix: context.prefix,
    ...options,
  });
  worker.on('error', (error) => context.logger.warn('worker error', { queue: name, err: error.message }));
  return worker;
}

export function createQueueEvents(context: QueueContext, name: string): QueueEvents {
  const events = new QueueEvents(name, {
    connection: connection(context),
    prefix: context.prefix,
  });
  events.on('error', (error) => context.logger.warn('queue events error', { queue: name, err: error.message }));
  return events;
}

/** Creates a BullMQ flow producer, for parent jobs that wait on child jobs. */
export function createFlowProducer(context: QueueContext): FlowProducer {
  const producer = new FlowProducer({ connection: connection(context), prefix: context.prefix });
  producer.on('error', (error) => context.logger.warn('flow producer error', { err: error.message }));
  return producer;
}

const ENCODED_ERROR = /^\{"appError":/;

/**
 * Turns an error thrown by a job processor into one BullMQ can store. Client errors (4xx) are
 * wrapped in `UnrecoverableError` so they are not retried; their code survives as JSON.
 */
export function toJobError(error: unknown): Error {
  if (error instanceof AppError) {
    const encoded = JSON.stringify({
      appError: { code: error.code, message: error.message, status: error.status, details: error.details },
    });
    return error.status < 500 ? new UnrecoverableError(encoded) : new Error(encoded);
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** Rebuilds the {@link AppError} behind a failed job's reason, or an `internal` one. */
export function fromJobError(reason: string): AppError {
  if (ENCODED_ERROR.test(reason)) {
    try {
      const { appError } = JSON.parse(reason) as {
        appError: { code: ErrorCode; message: string; status: number; details?: unknown };
      };
      return new AppError(appError.code, appError.message, {
        status: appError.status,
        details: appError.details,
      });
    } catch {
      // Fall through to a generic error below.
    }
  }
  return new AppError('internal', reason || 'the job failed');
}
