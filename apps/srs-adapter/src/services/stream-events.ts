import type { EventMap, EventName } from '@castplane/contracts';
import type { Logger } from '@castplane/logging';
import type { EventPublisher } from '@castplane/redis';

/**
 * Publishes stream events in the order they were observed, without making the caller wait.
 * Event ids are deterministic per occurrence (`<streamId>.<sessionId>.published`; BullMQ rejects
 * most ids containing `:`), so a repeated callback publishes no second job.
 */
export class StreamEvents {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly publisher: EventPublisher,
    private readonly logger: Logger,
  ) {}

  emit<E extends EventName>(type: E, data: EventMap[E], id: string): void {
    this.chain = this.chain.then(async () => {
      try {
        await this.publisher.publish(type, data, id);
      } catch (error) {
        this.logger.error('event publish failed', { event: type, eventId: id, err: (error as Error).message });
      }
    });
  }

  /** Resolves once every event emitted so far has been handed to the queues. */
  flush(): Promise<void> {
    return this.chain;
  }
}
