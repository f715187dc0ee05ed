import type { Worker } from 'bullmq';

import type { Logger } from '@castplane/logging';
import type { QueueContext, Redis } from '@castplane/redis';
import { applyOnce, subscribeEvents } from '@castplane/redis';

import type { RecordingService } from '../services/recording.service';

/**
 * Consumes this service's event queue (the encoder's `transcode.*` events) and applies each event
 * once across replicas, keyed on its id. A failure is retried by the queue.
 */
export function startEncoderEventsWorker(
  context: QueueContext,
  redis: Redis,
  keyPrefix: string,
  recordings: RecordingService,
  logger: Logger,
): Worker {
  return subscribeEvents(context, 'livekit-server', async (event) => {
    try {
      await applyOnce(redis, keyPrefix, 'livekit-server', event.id, () => recordings.applyEncoderEvent(event));
    } catch (error) {
      logger.warn('encoder event not applied, so the queue retries it', {
        eventId: event.id,
        type: event.type,
        err: error instanceof Error ? error.message : String(error),
      });
      throw error;
    }
  });
}
