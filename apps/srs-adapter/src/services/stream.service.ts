import { randomBytes } from 'node:crypto';

import type { StreamCreated } from '@castplane/contracts';
import { AppError, alreadyExists, notFound } from '@castplane/errors';
import type { Logger } from '@castplane/logging';

import type { MediaBackend } from '../media/media-backend';
import { randomSecret, signPlaybackToken } from './credentials';
import type { HookService } from './hook.service';
import type { StreamEvents } from './stream-events';
import type { StreamRecord, StreamStore } from './stream.store';

export interface CreateStreamInput {
  name: string;
  app?: string;
  requestId?: string;
  dvr?: boolean;
  playback?: 'public' | 'signed';
  reconnectWindowSeconds?: number;
  metadata?: Record<string, string>;
}

/** Settings that `config.apply` may change at run time. */
export interface StreamDefaults {
  reconnectWindowSeconds: number;
  dvr: boolean;
  takeover: 'reject' | 'kick';
}

export interface StreamUrls {
  rtmpBase: string;
  httpBase: string;
}

export interface StreamServiceDeps {
  store: StreamStore;
  hooks: HookService;
  events: StreamEvents;
  media: () => MediaBackend;
  logger: Logger;
  defaults: StreamDefaults;
  urls: () => StreamUrls;
  playbackTokenTtlSeconds: number;
  /** Deletes a stream's recordings and files; set once the DVR service exists. */
  removeRecordings?: (streamId: string) => Promise<unknown>;
}

/** Returns the public view of a stream, which leaves out the key and the playback secret. */
export function publicStream(stream: StreamRecord, urls: StreamUrls) {
  return {
    streamId: stream.id,
    app: stream.app,
    name: stream.name,
    state: stream.state,
    publishEnabled: stream.publishEnabled,
    dvr: stream.dvr,
    playback: stream.playback,
    reconnectWindowSeconds: stream.reconnectWindowSeconds,
    metadata: stream.metadata,
    sessionId: stream.sessionId || undefined,
    createdAt: new Date(stream.createdAt).toISOString(),
    updatedAt: new Date(stream.updatedAt).toISOString(),
    ...playbackUrls(stream, urls),
  };
}

function playbackUrls(stream: StreamRecord, urls: StreamUrls) {
  return {
    rtmpUrl: `${urls.rtmpBase}/${stream.app}/${stream.name}`,
    hlsUrl: `${urls.httpBase}/${stream.app}/${stream.name}.m3u8`,
    flvUrl: `${urls.httpBase}/${stream.app}/${stream.name}.flv`,
  };
}

/** Stream registry: create, read, list, delete, allow or end publishing. */
export class StreamService {
  constructor(readonly deps: StreamServiceDeps) {}

  /** Creates a stream; a retry with the same `requestId` returns the same stream and key. */
  async create(input: CreateStreamInput): Promise<StreamCreated & { stream: ReturnType<typeof publicStream> }> {
    const { defaults } = this.deps;
    const candidate = {
      id: `st_${randomBytes(9).toString('base64url')}`,
      app: input.app ?? 'live',
      name: input.name,
      key: randomSecret(24),
      playbackSecret: randomSecret(32),
      dvr: input.dvr ?? defaults.dvr,
      playback: input.playback ?? 'public',
      reconnectWindowSeconds: input.reconnectWindowSeconds ?? defaults.reconnectWindowSeconds,
      metadata: input.metadata ?? {},
      requestId: input.requestId ?? '',
      createdAt: Date.now(),
    };
    const result = await this.deps.store.create(candidate);
    if (result.outcome === 'conflict') {
      throw alreadyExists(`stream ${candidate.app}/${candidate.name} already exists`, 'body.name');
    }
    const stream = await this.require(result.id);
    if (result.outcome === 'existing' && (stream.app !== candidate.app || stream.name !== candidate.name)) {
      throw new AppError('already_exists', 'requestId was already used for another stream', {
        details: [{ field: 'body.requestId', message: 'already used' }],
      });
    }
    if (result.outcome === 'created') this.deps.logger.info('stream created', { streamId: stream.id, app: stream.app, stream: stream.name });
    return this.created(stream);
  }

  async get(streamId: string): Promise<ReturnType<typeof publicStream>> {
    return publicStream(await this.require(streamId), this.deps.urls());
  }

  async list(query: { state?: string; offset: number; limit: number }) {
    const page = await this.deps.store.list(query.offset, query.limit);
    const items = page.items.filter((item) => !query.state || item.state === query.state);
    return { items: items.map((item) => publicStream(item, this.deps.urls())), offset: query.offset, limit: query.limit, total: page.total };
  }

  /** Revokes the key, ends any live publish and removes the stream with its recordings. */
  async delete(streamId: string): Promise<{ streamId: string; deleted: boolean }> {
    const stream = await this.deps.store.get(streamId);
    if (!stream) return { streamId, deleted: false };
    await this.deps.store.update(stream.id, { publishEnabled: false });
    await this.deps.hooks.endNow(stream, 'deleted', false);
    await this.deps.media().kick(stream);
    await this.deps.removeRecordings?.(stream.id);
    await this.deps.store.remove(stream);
    await this.deps.media().onDeleted(stream);
    this.deps.events.emit('stream.deleted', { streamId: stream.id, app: stream.app, name: stream.name }, `${stream.id}.deleted`);
    this.deps.logger.info('stream deleted', { streamId: stream.id });
    return { streamId, deleted: true };
  }

  /** Ends the current publish now; with `disable` further publishes are rejected until `allowPublish`. */
  async unpublish(streamId: string, disable = false): Promise<{ streamId: string; kicked: boolean; state: string }> {
    const stream = await this.require(streamId);
    await this.deps.hooks.endNow(stream, 'unpublished', disable ? false : undefined);
    const kicked = await this.deps.media().kick(stream);
    const after = await this.require(streamId);
    return { streamId, kicked, state: after.state };
  }

  async allowPublish(streamId: string): Promise<StreamRecord> {
    const stream = await this.require(streamId);
    if (!stream.publishEnabled) await this.deps.store.update(streamId, { publishEnabled: true, updatedAt: Date.now() });
    return this.require(streamId);
  }

  playbackToken(stream: StreamRecord, ttlSeconds?: number): { token: string; expiresAt: string } {
    const expiresAt = Math.floor(Date.now() / 1000) + (ttlSeconds ?? this.deps.playbackTokenTtlSeconds);
    return { token: signPlaybackToken(stream.id, stream.playbackSecret, expiresAt), expiresAt: new Date(expiresAt * 1000).toISOString() };
  }

  async stat(streamId: string) {
    const stream = await this.require(streamId);
    const [media, viewers] = await Promise.all([
      stream.state === 'idle' ? Promise.resolve(undefined) : this.deps.media().stat(stream),
      this.deps.store.viewers(stream.id),
    ]);
    return {
      streamId: stream.id,
      state: stream.state,
      publisher: media?.publisher ?? (stream.publisherClientId
        ? { clientId: stream.publisherClientId, ip: stream.publisherIp, since: new Date(stream.publishedAt).toISOString() }
        : null),
      video: media?.video ?? null,
      audio: media?.audio ?? null,
      kbps: media?.kbps ?? { in: 0, out: 0 },
      bytes: media?.bytes ?? { in: 0, out: 0 },
      viewers: { ...viewers, ...(media?.viewers ?? {}) },
      uptimeSeconds: stream.state === 'idle' ? 0 : Math.round((Date.now() - stream.sessionStartedAt) / 1000),
    };
  }

  async require(streamId: string): Promise<StreamRecord> {
    const stream = await this.deps.store.get(streamId);
    if (!stream) throw notFound('stream', streamId);
    return stream;
  }

  private created(stream: StreamRecord) {
    const urls = playbackUrls(stream, this.deps.urls());
    return {
      streamId: stream.id,
      name: stream.name,
      app: stream.app,
      streamKey: stream.key,
      rtmpUrl: `${urls.rtmpUrl}?key=${encodeURIComponent(stream.key)}`,
      hlsUrl: urls.hlsUrl,
      flvUrl: urls.flvUrl,
      stream: publicStream(stream, this.deps.urls()),
    };
  }
}
