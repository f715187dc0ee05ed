import { createHash } from 'node:crypto';

import type { Job, Queue, Worker } from 'bullmq';
import { DelayedError, UnrecoverableError } from 'bullmq';
import { AccessToken } from 'livekit-server-sdk';

import type { Logger } from '@castplane/logging';
import type { QueueContext, Redis } from '@castplane/redis';
import { createQueue, createWorker } from '@castplane/redis';

import type { WebhookJob } from './webhook.queue';
import { WEBHOOK_QUEUE } from './webhook.queue';

export interface WebhookWorkerOptions {
  apiKey: string;
  apiSecret: string;
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
  redis: Redis;
  prefix: string;
  logger: Logger;
}

// How long an event waits for an earlier one of its room before it is sent anyway.
const ORDER_WAIT_LIMIT_MS = 120_000;
const ORDER_POLL_MS = 100;

export function createWebhookQueue(context: QueueContext, options: Pick<WebhookWorkerOptions, 'attempts' | 'backoffMs'>) {
  return createQueue<WebhookJob>(context, WEBHOOK_QUEUE, {
    attempts: options.attempts,
    backoff: { type: 'exponential', delay: options.backoffMs },
    removeOnComplete: { age: 3600, count: 1000 },
    removeOnFail: { age: 24 * 3600, count: 5000 },
  }) as Queue<WebhookJob>;
}

/** Signs the exact body as LiveKit does: HS256, `iss` = key, `sha256` claim, 5-minute expiry. */
export async function signWebhook(body: string, apiKey: string, apiSecret: string): Promise<string> {
  const token = new AccessToken(apiKey, apiSecret, { ttl: '5m' });
  token.sha256 = createHash('sha256').update(body, 'utf8').digest('base64');
  return token.toJwt();
}

async function post(job: WebhookJob, options: WebhookWorkerOptions): Promise<void> {
  const response = await fetch(job.url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/webhook+json',
      Authorization: await signWebhook(job.body, options.apiKey, options.apiSecret),
      'User-Agent': 'LiveKit',
    },
    body: job.body,
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  await response.arrayBuffer().catch(() => undefined);
  // Like LiveKit's sender: a 4xx other than 429 is final, 429 and 5xx are retried.
  if (response.status >= 400 && response.status < 500 && response.status !== 429) {
    throw new UnrecoverableError(`webhook receiver returned HTTP ${response.status}`);
  }
  if (response.status >= 400) throw new Error(`webhook receiver returned HTTP ${response.status}`);
}

/**
 * Delivers webhooks in order per room and URL. Jobs run concurrently across rooms. A job whose
 * predecessor (seq - 1) is not done yet goes back to the delayed set without using an attempt, so
 * a retried event still arrives before the events that followed it.
 */
export function startWebhookWorker(context: QueueContext, options: WebhookWorkerOptions): Worker<WebhookJob> {
  const doneKey = (job: WebhookJob) => `${options.prefix}:webhook-done:${job.orderKey}`;

  const markDone = async (job: WebhookJob) => {
    await options.redis.eval(
      `local done = tonumber(redis.call('GET', KEYS[1]) or '0')
       if tonumber(ARGV[1]) > done then redis.call('SET', KEYS[1], ARGV[1], 'EX', 86400) end return 1`,
      1,
      doneKey(job),
      String(job.seq),
    );
  };

  const process = async (job: Job<WebhookJob>, token?: string) => {
    const done = Number((await options.redis.get(doneKey(job.data))) ?? 0);
    const waitedMs = Date.now() - job.timestamp;
    if (done < job.data.seq - 1 && waitedMs < ORDER_WAIT_LIMIT_MS) {
      await job.moveToDelayed(Date.now() + ORDER_POLL_MS, token);
      throw new DelayedError();
    }
    try {
      await post(job.data, options);
      await markDone(job.data);
      options.logger.info('webhook delivered', { event: job.data.event, jobId: job.id, attempt: job.attemptsMade + 1 });
    } catch (error) {
      const final = error instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      const message = error instanceof Error ? error.message : String(error);
      options.logger.warn(final ? 'webhook dropped' : 'webhook delivery failed; retrying', {
        event: job.data.event,
        jobId: job.id,
        attempt: job.attemptsMade + 1,
        err: message,
      });
      if (final) await markDone(job.data);
      throw error;
    }
  };
  return createWorker<WebhookJob>(context, WEBHOOK_QUEUE, process, { concurrency: 8 }) as Worker<WebhookJob>;
}
