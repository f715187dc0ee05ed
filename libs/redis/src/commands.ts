import type { Job, JobsOptions, Queue, QueueEvents, Worker } from 'bullmq';

import type { CommandName, CommandPayload, CommandResult, ServiceName } from '@castplane/contracts';
import { commandQueueName } from '@castplane/contracts';
import { AppError } from '@castplane/errors';

import type { QueueContext } from './queues';
import { createQueue, createQueueEvents, createWorker, fromJobError, toJobError } from './queues';

interface CommandJob {
  command: string;
  payload: unknown;
}

export interface SendOptions {
  /** How long to wait for the result; the job itself may still run later. */
  timeoutMs?: number;
  /** Deduplicates: a second send with the same id waits for the first job instead. */
  jobId?: string;
  attempts?: number;
  backoffMs?: number;
}

/** Sends commands to services' queues and waits for their results. */
export class CommandClient {
  private readonly queues = new Map<ServiceName, { queue: Queue; events: QueueEvents }>();

  constructor(private readonly context: QueueContext) {}

  async send<S extends ServiceName, C extends CommandName<S>>(
    service: S,
    command: C,
    payload: CommandPayload<S, C>,
    options: SendOptions = {},
  ): Promise<CommandResult<S, C>> {
    const { queue, events } = await this.channel(service);
    const jobOptions: JobsOptions = {
      jobId: options.jobId,
      attempts: options.attempts ?? 3,
      backoff: { type: 'exponential', delay: options.backoffMs ?? 500 },
    };
    const job = await queue.add(command, { command, payload }, jobOptions);
    try {
      return (await waitForResult(queue, job, events, options.timeoutMs ?? 15000)) as CommandResult<S, C>;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (/timed out/i.test(message)) {
        throw new AppError('deadline_exceeded', `${service} did not finish ${command} in time`);
      }
      throw fromJobError(message);
    }
  }

  private async channel(service: ServiceName) {
    let channel = this.queues.get(service);
    if (!channel) {
      const name = commandQueueName(service);
      channel = { queue: createQueue(this.context, name), events: createQueueEvents(this.context, name) };
      this.queues.set(service, channel);
      await channel.events.waitUntilReady();
    }
    return channel;
  }

  async close(): Promise<void> {
    for (const { queue, events } of this.queues.values()) {
      await Promise.allSettled([events.close(), queue.close()]);
    }
    this.queues.clear();
  }
}

/** How often a waiting sender also reads the job itself, in case its completion event was missed. */
const RESULT_CHECK_MS = 1000;

/**
 * Waits for a job's result from the queue's events and also reads the job's state every second.
 * The events reader starts at the stream's end (`$`) and resets its connection when a read stalls,
 * so it can miss the one event a sender waits for.
 */
export async function waitForResult(queue: Queue, job: Job, events: QueueEvents, timeoutMs: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  let waiting = true;
  const checked = new Promise<unknown>((resolve, reject) => {
    const check = async () => {
      const current = await queue.getJob(job.id!).catch(() => undefined);
      const state = await current?.getState().catch(() => undefined);
      if (state === 'completed') return resolve(current!.returnvalue);
      if (state === 'failed') return reject(new Error(current!.failedReason));
      if (waiting) timer = setTimeout(check, RESULT_CHECK_MS);
    };
    timer = setTimeout(check, RESULT_CHECK_MS);
  });
  try {
    return await Promise.race([job.waitUntilFinished(events, timeoutMs), checked]);
  } finally {
    waiting = false;
    clearTimeout(timer);
  }
}

export type CommandHandlers<S extends ServiceName> = {
  [C in CommandName<S>]?: (payload: CommandPayload<S, C>, job: Job) => Promise<CommandResult<S, C>>;
};

/** Runs a service's command handlers on its command queue. Unknown commands fail without retry. */
export function serveCommands<S extends ServiceName>(
  context: QueueContext,
  service: S,
  handlers: CommandHandlers<S>,
  concurrency = 4,
): Worker {
  const name = commandQueueName(service);
  return createWorker<CommandJob>(
    context,
    name,
    async (job) => {
      const handler = handlers[job.data.command as CommandName<S>] as
        | ((payload: unknown, job: Job) => Promise<unknown>)
        | undefined;
      if (!handler) {
        throw toJobError(new AppError('invalid_argument', `unknown command ${job.data.command}`));
      }
      try {
        const result = await handler(job.data.payload, job);
        context.logger.info('command completed', { queue: name, jobId: job.id, command: job.data.command });
        return result;
      } catch (error) {
        context.logger.warn('command failed', {
          queue: name,
          jobId: job.id,
          command: job.data.command,
          attempt: job.attemptsMade + 1,
          err: error instanceof Error ? error.message : String(error),
        });
        throw toJobError(error);
      }
    },
    { concurrency },
  );
}
