import { createHash } from 'node:crypto';

import type { Queue } from 'bullmq';
import { WebhookEvent } from 'livekit-server-sdk';

import type { Redis } from '@castplane/redis';

import { newId } from '../services/models';

export const WEBHOOK_QUEUE = 'livekit-webhooks';

export type WebhookEventName =
  | 'room_started'
  | 'room_finished'
  | 'participant_joined'
  | 'participant_left'
  | 'track_published'
  | 'track_unpublished'
  | 'egress_started'
  | 'egress_updated'
  | 'egress_ended';

/** One delivery of one event to one URL; `seq` orders deliveries sharing `orderKey`. */
export interface WebhookJob {
  url: string;
  body: string;
  event: WebhookEventName;
  orderKey: string;
  seq: number;
}

/** Fields of a WebhookEvent in protobuf JSON (camelCase), without `id` and `createdAt`. */
export type WebhookFields = Record<string, unknown> & { event: WebhookEventName };

/**
 * Queues LiveKit-format webhooks. Each event gets its `id` and `createdAt` once, so every retry
 * sends the same body, and a per-room sequence number that the worker uses to keep order.
 */
export class WebhookQueue {
  constructor(
    private readonly queue: Queue<WebhookJob> | undefined,
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly urls: string[],
  ) {}

  async enqueue(roomName: string, fields: WebhookFields): Promise<void> {
    if (!this.queue || this.urls.length === 0) return;
    const event = WebhookEvent.fromJson({
      ...fields,
      id: newId('EV_'),
      createdAt: String(Math.floor(Date.now() / 1000)),
    } as never);
    const body = event.toJsonString();
    for (const url of this.urls) {
      const orderKey = `${createHash('sha1').update(url).digest('hex').slice(0, 16)}:${roomName}`;
      const seq = await this.redis.incr(`${this.prefix}:webhook-seq:${orderKey}`);
      await this.redis.expire(`${this.prefix}:webhook-seq:${orderKey}`, 86400);
      await this.queue.add(fields.event, { url, body, event: fields.event, orderKey, seq });
    }
  }
}
