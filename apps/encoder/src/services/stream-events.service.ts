import type Redis from 'ioredis';

import type { EventEnvelope, EventMap } from '@castplane/contracts';
import type { Logger } from '@castplane/logging';
import { applyOnce } from '@castplane/redis';

import type { EncoderKeys } from './redis-keys';
import { streamField } from './redis-keys';
import type { StreamConfigService } from './stream-config.service';
import type { TranscodeService } from './transcode.service';

type StreamRef = { app: string; name: string };

/**
 * Applies stream events from the media server: armed keys start on publish, stop when the stream
 * ends. Each event is applied once; a reconnect or duplicate finds the running ladder and keeps it.
 */
export class StreamEventsService {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly keys: EncoderKeys,
    private readonly configs: StreamConfigService,
    private readonly transcodes: TranscodeService,
    private readonly logger: Logger,
  ) {}

  async handle(event: EventEnvelope): Promise<void> {
    await applyOnce(this.redis, this.keyPrefix, 'encoder', event.id, () => this.apply(event));
  }

  private async apply(event: EventEnvelope): Promise<void> {
    switch (event.type) {
      case 'stream.published':
      case 'stream.reconnected':
        return this.onLive(event.data as EventMap['stream.published']);
      case 'stream.ended':
        return this.onEnded(event.data as EventMap['stream.ended'], false);
      case 'stream.deleted':
        return this.onEnded(event.data as EventMap['stream.deleted'], true);
      default:
        this.logger.debug('event ignored', { eventId: event.id, type: event.type });
    }
  }

  private async onLive(stream: StreamRef & { sessionId: string }): Promise<void> {
    await this.redis.hset(this.keys.live, streamField(stream.app, stream.name), stream.sessionId);
    const config = await this.configs.findByStream(stream.app, stream.name);
    if (!config || !(await this.redis.sismember(this.keys.armed, config.keyId))) return;
    const run = await this.transcodes.startRun(config);
    this.logger.info('armed transcode triggered', { keyId: config.keyId, app: stream.app, stream: stream.name, jobId: run.jobId });
  }

  private async onEnded(stream: StreamRef, deleted: boolean): Promise<void> {
    await this.redis.hdel(this.keys.live, streamField(stream.app, stream.name));
    const config = await this.configs.findByStream(stream.app, stream.name);
    if (!config) return;
    if (deleted) await this.redis.srem(this.keys.armed, config.keyId);
    const result = await this.transcodes.stopRun(config.keyId);
    this.logger.info('stream ended; transcode stopped', { keyId: config.keyId, app: stream.app, stream: stream.name, stopped: result.stopped, deleted });
  }
}
