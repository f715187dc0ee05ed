import type { Queue } from 'bullmq';

import type { ServiceName } from '@castplane/contracts';
import { commandQueueName } from '@castplane/contracts';
import { AppError, isAppError } from '@castplane/errors';
import { CommandClient, createQueue } from '@castplane/redis';
import type { QueueContext } from '@castplane/redis';

import type { StepCommand } from '../flow/flow-steps';

export interface GatewaySendOptions {
  jobId: string;
  timeoutMs: number;
}

/**
 * Sends commands by name (the flow table is data, not typed calls) and withdraws a job that
 * timed out while still waiting, so a service that comes back later does not run a stale step.
 */
export class CommandGateway {
  private readonly client: CommandClient;
  private readonly queues = new Map<ServiceName, Queue>();

  constructor(private readonly context: QueueContext) {
    this.client = new CommandClient(context);
  }

  async send(step: StepCommand, options: GatewaySendOptions): Promise<Record<string, unknown>> {
    try {
      const result = await this.client.send(step.service, step.command as never, step.payload as never, {
        jobId: options.jobId,
        timeoutMs: options.timeoutMs,
        attempts: 1,
      });
      return (result ?? {}) as Record<string, unknown>;
    } catch (error) {
      if (isAppError(error) && error.code === 'deadline_exceeded') await this.withdraw(step.service, options.jobId);
      throw error;
    }
  }

  // Removes a job that no worker has picked up yet. An active job finishes and its result is ignored.
  private async withdraw(service: ServiceName, jobId: string): Promise<void> {
    try {
      const job = await this.queue(service).getJob(jobId);
      if (!job) return;
      const state = await job.getState();
      if (state === 'waiting' || state === 'delayed' || state === 'prioritized') await job.remove();
    } catch (error) {
      this.context.logger.warn('withdrawing a timed-out command failed', {
        service,
        jobId,
        err: error instanceof Error ? error.message : String(error),
      });
    }
  }

  private queue(service: ServiceName): Queue {
    let queue = this.queues.get(service);
    if (!queue) {
      queue = createQueue(this.context, commandQueueName(service));
      this.queues.set(service, queue);
    }
    return queue;
  }

  /** Number of waiting, active and delayed jobs and the connected workers of a service's queue. */
  async queueState(service: ServiceName): Promise<{ waiting: number; active: number; delayed: number; failed: number; workers: number }> {
    const queue = this.queue(service);
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
    const workers = await queue.getWorkersCount();
    return {
      waiting: counts.waiting ?? 0,
      active: counts.active ?? 0,
      delayed: counts.delayed ?? 0,
      failed: counts.failed ?? 0,
      workers,
    };
  }

  async close(): Promise<void> {
    await this.client.close();
    await Promise.allSettled([...this.queues.values()].map((queue) => queue.close()));
    this.queues.clear();
  }
}

/** Turns anything a command threw into an AppError. */
export function asAppError(error: unknown): AppError {
  if (isAppError(error)) return error;
  return new AppError('internal', error instanceof Error ? error.message : String(error));
}
