import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';

import { Runtime, listen, boundPort, parseHostList } from '@castplane/http';
import type { RunningService } from '@castplane/http';
import { EventPublisher, serveCommands } from '@castplane/redis';

import { SrsApiClient } from './clients/srs-api.client';
import { streamCommands } from './commands/stream.commands';
import type { SrsAdapterConfig } from './config';
import { SECRETS } from './config';
import { EmbeddedBackend } from './media/embedded.backend';
import type { MediaBackend } from './media/media-backend';
import { MediaHttp } from './media/media-http';
import { SrsBackend } from './media/srs.backend';
import { hookRoutes } from './routes/hooks.routes';
import { serverRoutes } from './routes/server.routes';
import { streamRoutes } from './routes/streams.routes';
import { AdapterSettings } from './services/adapter-settings';
import { DvrService } from './services/dvr.service';
import { HookService } from './services/hook.service';
import { Reconciler } from './services/reconciler';
import { ServerService } from './services/server.service';
import { SourceIngest } from './services/source-ingest';
import { StreamEvents } from './services/stream-events';
import type { StreamDefaults } from './services/stream.service';
import { StreamService } from './services/stream.service';
import { StreamStore } from './services/stream.store';

export interface StartOptions {
  logStream?: NodeJS.WritableStream;
}

/** A running adapter: the runtime handles plus the services tests drive directly. */
export interface SrsAdapter extends RunningService {
  streams: StreamService;
  hooks: HookService;
  events: StreamEvents;
  defaults: StreamDefaults;
}

/** Starts the srs-adapter listeners and returns handles for shutdown and tests. */
export async function startSrsAdapter(config: Readonly<SrsAdapterConfig>, options: StartOptions = {}): Promise<SrsAdapter> {
  const runtime = new Runtime({ service: 'srs-adapter', config, secrets: SECRETS, logStream: options.logStream });
  const { logger } = runtime;
  const store = new StreamStore(runtime.redis, config.REDIS_KEY_PREFIX);
  const publisher = new EventPublisher(runtime.queues, 'srs-adapter');
  const events = new StreamEvents(publisher, logger);
  const defaults: StreamDefaults = {
    reconnectWindowSeconds: config.DEFAULT_RECONNECT_WINDOW_SECONDS,
    dvr: config.DVR_DEFAULT,
    takeover: config.PUBLISH_TAKEOVER,
  };
  const settings = new AdapterSettings({ redis: runtime.redis, keyPrefix: config.REDIS_KEY_PREFIX, defaults, logger });
  await settings.load();
  settings.start();
  runtime.shutdown.register('settings reload', () => settings.stop());
  let media: MediaBackend | undefined;
  const getMedia = (): MediaBackend => {
    if (!media) throw new Error('media backend is not ready');
    return media;
  };
  const dvrRoot = config.SRS_API_URL ? undefined : config.DVR_ROOT;
  const serviceTokens = { secret: config.AUTH_JWT_SECRET, issuer: config.AUTH_JWT_ISSUER };
  const hooks = new HookService({ store, events, media: getMedia, logger, settings: defaults, dvrRoot, recordingsRoot: config.DVR_ROOT, serviceTokens });
  const urls = () => ({
    rtmpBase: (config.PUBLIC_RTMP_URL ?? `rtmp://127.0.0.1:${runtime.ports.rtmp ?? config.RTMP_PORT}`).replace(/\/$/, ''),
    httpBase: (config.PUBLIC_HTTP_URL ?? `http://127.0.0.1:${runtime.ports.media ?? config.MEDIA_HTTP_PORT}`).replace(/\/$/, ''),
  });
  const streams = new StreamService({
    store, hooks, events, media: getMedia, logger, defaults, urls, playbackTokenTtlSeconds: config.PLAYBACK_TOKEN_TTL_SECONDS,
  });
  const outbound = { allowList: parseHostList(config.INGEST_ALLOWED_HOSTS), setting: 'INGEST_ALLOWED_HOSTS' };
  const ingest = new SourceIngest({ ffmpeg: config.FFMPEG_PATH, mediaRoot: config.MEDIA_ROOT, rtmpBase: () => urls().rtmpBase, logger, outbound });
  const dvr = new DvrService({ store, streams, dvrRoot: config.DVR_ROOT, logger });
  streams.deps.removeRecordings = (streamId) => dvr.remove(streamId);
  const server = new ServerService({ store, media: getMedia, ports: () => ({ ...runtime.ports }) });

  let mediaServer: Server | undefined;
  let mediaHttp: MediaHttp | undefined;
  if (config.SRS_API_URL) {
    media = new SrsBackend(new SrsApiClient(config.SRS_API_URL, config.SRS_API_TIMEOUT_MS));
  } else {
    mkdirSync(config.MEDIA_ROOT, { recursive: true });
    mkdirSync(config.DVR_ROOT, { recursive: true });
    const embedded = new EmbeddedBackend({
      host: config.HOST, rtmpPort: config.RTMP_PORT, mediaRoot: config.MEDIA_ROOT, dvrRoot: config.DVR_ROOT, ffmpeg: config.FFMPEG_PATH,
      hlsSegmentSeconds: config.HLS_SEGMENT_SECONDS, hlsListSize: config.HLS_LIST_SIZE, logger, hooks: () => hooks,
      takeover: () => defaults.takeover,
    });
    media = embedded;
    runtime.ports.rtmp = await embedded.listen();
    const playback = new MediaHttp({
      embedded, hooks, store, mediaRoot: config.MEDIA_ROOT, logger, hlsIdleMs: 2 * config.HLS_SEGMENT_SECONDS * config.HLS_LIST_SIZE * 1000,
    });
    mediaHttp = playback;
    mediaServer = await listen(runtime.createApp('media', [], { mount: (app) => playback.mount(app) }), config.MEDIA_HTTP_PORT, config.HOST);
    runtime.ports.media = boundPort(mediaServer);
    logger.info('listening', { listener: 'media', url: `http://${config.HOST}:${runtime.ports.media}`, rtmpPort: runtime.ports.rtmp });
  }

  const routes = [...streamRoutes(streams, ingest), ...hookRoutes(hooks, config.SRS_CALLBACK_SECRET), ...serverRoutes(server, dvr)];
  await runtime.listen('api', runtime.createApp('api', routes), config.SRS_ADAPTER_PORT);
  const worker = serveCommands(runtime.queues, 'srs-adapter', streamCommands(streams, ingest, settings));
  const reconciler = new Reconciler({ store, hooks, media: getMedia, logger, intervalMs: config.RECONCILE_INTERVAL_MS });
  reconciler.start();

  runtime.shutdown.register('reconciler', () => reconciler.stop());
  runtime.shutdown.register('command worker', () => worker.close());
  runtime.shutdown.register('source ingests', () => ingest.close());
  runtime.shutdown.register('media', async () => {
    mediaHttp?.close();
    // Live FLV responses never finish by themselves: end them before closing the listener.
    mediaServer?.closeAllConnections();
    await Promise.all([
      getMedia().close(),
      mediaServer ? new Promise<void>((resolve) => mediaServer?.close(() => resolve())) : undefined,
    ]);
  });
  runtime.shutdown.register('hook timers', () => hooks.close());
  runtime.shutdown.register('events', async () => {
    await events.flush();
    await publisher.close();
  });
  runtime.closeRedisLast();
  return Object.assign(runtime, { streams, hooks, events, defaults }) as unknown as SrsAdapter;
}
