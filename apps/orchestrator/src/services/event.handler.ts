import type Redis from 'ioredis';

import type { EventEnvelope } from '@castplane/contracts';
import type { Logger } from '@castplane/logging';
import { applyOnce } from '@castplane/redis';

import type { CommandGateway } from '../clients/command.gateway';
import { resultOf } from '../flow/flow-steps';
import type { OrchestrationStore } from './orchestration.store';

export interface EventHandlerDeps {
  redis: Redis;
  keyPrefix: string;
  store: OrchestrationStore;
  gateway: CommandGateway;
  logger: Logger;
  stepTimeoutMs: number;
  /** Sends `transcode.stop` when a stream ends for good (the command is idempotent). */
  stopTranscodeOnEnd: boolean;
}

type StreamData = { app: string; name: string };
type RoomData = { roomName: string };

/**
 * Applies stream, transcode and room events to the orchestration they belong to: records them
 * in its history and keeps its media state current. Events of streams and rooms that no
 * orchestration created are ignored.
 */
export class OrchestrationEventHandler {
  constructor(private readonly deps: EventHandlerDeps) {}

  async handle(event: EventEnvelope): Promise<void> {
    const id = await this.orchestrationOf(event);
    if (!id) return;
    await applyOnce(this.deps.redis, this.deps.keyPrefix, 'orchestrator', event.id, async () => {
      await this.deps.store.appendHistory(id, { type: event.type, detail: { ...event.data, eventId: event.id, source: event.source } });
      await this.apply(id, event);
    });
  }

  private async orchestrationOf(event: EventEnvelope): Promise<string | null> {
    const data = event.data as Partial<StreamData & RoomData>;
    if (data.roomName) return this.deps.store.idForRoom(data.roomName);
    if (data.app && data.name) return this.deps.store.idForStream(data.app, data.name);
    return null;
  }

  private async apply(id: string, event: EventEnvelope): Promise<void> {
    const time = event.time;
    switch (event.type) {
      case 'stream.published':
        return this.deps.store.setMedia(id, { publish: 'live', publishChangedAt: time });
      case 'stream.reconnected':
        // The reconnect window keeps the session, so the running transcode is kept as well.
        return this.deps.store.setMedia(id, { publish: 'live', publishChangedAt: time });
      case 'stream.ended':
        await this.deps.store.setMedia(id, { publish: 'ended', publishChangedAt: time });
        return this.stopTranscode(id, event.id);
      case 'transcode.started': {
        const data = event.data as EventEnvelope<'transcode.started'>['data'];
        return this.deps.store.setMedia(id, { transcode: 'running', transcodeJobId: data.jobId, masterPlaylistPath: data.masterPlaylistPath });
      }
      case 'transcode.completed':
        return this.deps.store.setMedia(id, { transcode: 'completed' });
      case 'transcode.failed':
        return this.deps.store.setMedia(id, { transcode: 'failed' });
      case 'room.started':
        return this.deps.store.setMedia(id, { room: 'started' });
      case 'room.finished':
        return this.deps.store.setMedia(id, { room: 'finished' });
      default:
        return undefined;
    }
  }

  private async stopTranscode(id: string, eventId: string): Promise<void> {
    if (!this.deps.stopTranscodeOnEnd) return;
    const record = await this.deps.store.get(id);
    const streamKey = record ? resultOf(record, 'stream').streamKey : undefined;
    if (!streamKey) return;
    try {
      await this.deps.gateway.send(
        { service: 'encoder', command: 'transcode.stop', payload: { streamKey } },
        { jobId: `${id}.ended.${eventId}`, timeoutMs: this.deps.stepTimeoutMs },
      );
    } catch (error) {
      this.deps.logger.warn('stopping the transcode after the stream ended failed', {
        orchestrationId: id,
        err: error instanceof Error ? error.message : String(error),
      });
    }
  }
}
