import { randomUUID } from 'node:crypto';

import type { Queue, Worker } from 'bullmq';
import type Redis from 'ioredis';

import type { EventEnvelope, EventMap, EventName, ServiceName } from '@castplane/contracts';
import { EVENT_SUBSCRIBERS, eventQueueName } from '@castplane/contracts';

import type { QueueContext } from './queues';
import { createQueue, createWorker } from './queues';

/** Publishes events to every subscriber's queue, at least once, with the event id as job id. */
export class EventPublisher {
  private readonly queues = new Map<ServiceName, Queue>();

  constructor(
    private readonly context: QueueContext,
    private readonly source: ServiceName,
  ) {}

  async publish<E extends EventName>(type: E, data: EventMap[E], id: string = randomUUID()): Promise<EventEnvelope<E>> {
    const event: EventEnvelope<E> = { id, type, time: new Date().toISOString(), source: this.source, data };
    await Promise.all(
      EVENT_SUBSCRIBERS[type].map((service) =>
        this.queue(service).add(type, event, {
          jobId: id,
          attempts: 5,
          backoff: { type: 'exponential', delay: 500 },
        }),
      ),
    );
    return event;
  }

  private queue(service: ServiceName): Queue {
    let queue = this.queues.get(service);
    if (!queue) {
      queue = createQueue(this.context, eventQueueName(service));
      this.queues.set(service, queue);
    }
    return queue;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()].map((queue) => queue.close()));
    this.queues.clear();
  }
}

/**
 * Consumes a service's event queue. Events are processed one at a time per worker so that a
 * stream's events are applied in the order they were published.
 */
export function subscribeEvents(
  context: QueueContext,
  service: ServiceName,
  handler: (event: EventEnvelope) => Promise<void>,
): Worker {
  return createWorker<EventEnvelope>(context, eventQueueName(service), async (job) => {
    await handler(job.data);
  });
}

/**
 * Runs `apply` only the first time `eventId` is seen by `consumer`, so redelivered events have no
 * second effect. The marker is kept for a day and removed again when `apply` throws.
 */
export async function applyOnce(
  redis: Redis,
  keyPrefix: string,
  consumer: string,
  eventId: string,
  apply: () => Promise<void>,
): Promise<boolean> {
  const key = `${keyPrefix}:processed:${consumer}:${eventId}`;
  const fresh = await redis.set(key, '1', 'EX', 24 * 3600, 'NX');
  if (fresh !== 'OK') return false;
  try {
    await apply();
    return true;
  } catch (error) {
    await redis.del(key);
    throw error;
  }
}
