import { randomBytes } from 'node:crypto';

import { Runtime } from '@castplane/http';
import type { RunningService } from '@castplane/http';
import { CommandClient, EventPublisher, closeRedis } from '@castplane/redis';

import type { LivekitServerConfig } from './config';
import { SECRETS, webhookUrls } from './config';
import { startCommandWorker } from './jobs/commands.worker';
import { startEncoderEventsWorker } from './jobs/encoder-events.worker';
import { WebhookQueue } from './jobs/webhook.queue';
import { createWebhookQueue, startWebhookWorker } from './jobs/webhook.worker';
import { recordingRoutes } from './routes/recording.routes';
import { roomRoutes } from './routes/rooms.routes';
import { signalRoutes } from './routes/signal.routes';
import { statsRoutes } from './routes/stats.routes';
import { tokenRoutes } from './routes/token.routes';
import { mountTwirpFallback, twirpRoutes } from './routes/twirp.routes';
import { LostParticipantsService } from './services/lost-participants.service';
import { NodeRegistry } from './services/node-registry';
import { ParticipantService } from './services/participant.service';
import { RecordingService } from './services/recording.service';
import { RecordingStore } from './services/recording.store';
import { RelayService } from './services/relay.service';
import { RoomEvents } from './services/room-events';
import { RoomService } from './services/room.service';
import { RoomStore } from './services/room.store';
import { SettingsService } from './services/settings.service';
import { StatsService } from './services/stats.service';
import { TokenService } from './services/token.service';
import { SignalBus } from './signal/signal.bus';
import { SignalHandlers } from './signal/signal.handlers';
import { SignalServer } from './signal/signal.server';
import { egressMethods } from './twirp/egress.twirp';
import { roomServiceMethods } from './twirp/room-service.twirp';

export interface StartOptions {
  logStream?: NodeJS.WritableStream;
}

export interface LivekitServer extends RunningService {
  nodeId: string;
}

/** Starts the livekit-server listeners, signalling, workers and sweepers. */
export async function startLivekitServer(config: Readonly<LivekitServerConfig>, options: StartOptions = {}): Promise<LivekitServer> {
  const runtime = new Runtime({ service: 'livekit-server', config, secrets: SECRETS, logStream: options.logStream });
  const { logger, redis, queues } = runtime;
  const prefix = `${config.REDIS_KEY_PREFIX}:livekit`;
  const nodeId = `node-${randomBytes(6).toString('hex')}`;

  const store = new RoomStore(redis, prefix);
  const subscriber = redis.duplicate();
  const bus = new SignalBus(nodeId, redis, subscriber, prefix, logger);
  const urls = webhookUrls(config);
  const webhookQueue = urls.length > 0 ? createWebhookQueue(queues, { attempts: config.LIVEKIT_WEBHOOK_ATTEMPTS, backoffMs: config.LIVEKIT_WEBHOOK_BACKOFF_MS }) : undefined;
  const publisher = new EventPublisher(queues, 'livekit-server');
  const events = new RoomEvents(new WebhookQueue(webhookQueue, redis, prefix, urls), publisher, logger);
  const rooms = new RoomService(store, bus, events, logger, {
    emptyTimeout: config.LIVEKIT_DEFAULT_EMPTY_TIMEOUT_SECONDS,
    departureTimeout: config.LIVEKIT_DEFAULT_DEPARTURE_TIMEOUT_SECONDS,
    maxParticipants: config.LIVEKIT_DEFAULT_MAX_PARTICIPANTS,
  });
  const settings = new SettingsService(redis, `${prefix}:settings`, rooms, logger, {
    ...rooms.getDefaults(),
    duplicateIdentity: config.LIVEKIT_DUPLICATE_IDENTITY,
  });
  const participants = new ParticipantService(store, rooms, bus, events, logger, {
    duplicateIdentity: () => settings.duplicateIdentity,
    autoCreate: config.LIVEKIT_AUTO_CREATE_ROOMS,
  });
  const encoder = new CommandClient(queues);
  const recordingStore = new RecordingStore(redis, prefix, config.LIVEKIT_EGRESS_ENDING_TIMEOUT_MS);
  const recordings = new RecordingService(recordingStore, rooms, encoder, events, logger, {
    encoderTimeoutMs: config.LIVEKIT_ENCODER_TIMEOUT_MS,
    retentionDays: config.LIVEKIT_RECORDING_RETENTION_DAYS,
  });
  rooms.beforeEnd = (room) => recordings.stopIfRunning(room.activeRecording);
  const tokens = new TokenService({
    apiKey: config.LIVEKIT_API_KEY,
    apiSecret: config.LIVEKIT_API_SECRET,
    maxTtlSeconds: config.LIVEKIT_TOKEN_MAX_TTL_SECONDS,
    defaultTtlSeconds: config.LIVEKIT_TOKEN_DEFAULT_TTL_SECONDS,
    clockSkewSeconds: config.LIVEKIT_CLOCK_SKEW_SECONDS,
  });
  const relay = new RelayService(store, bus, logger);
  const handlers = new SignalHandlers(participants, relay, logger, config.LIVEKIT_MAX_SIGNAL_MESSAGE_BYTES);
  const signal = new SignalServer(tokens, participants, bus, handlers, logger, {
    maxMessageBytes: config.LIVEKIT_MAX_SIGNAL_MESSAGE_BYTES,
    heartbeatIntervalMs: config.LIVEKIT_HEARTBEAT_INTERVAL_MS,
  });
  const stats = new StatsService(store, relay, signal, nodeId);
  const registry = new NodeRegistry(nodeId, redis, prefix, config.LIVEKIT_NODE_TIMEOUT_MS, logger);
  const lost = new LostParticipantsService(store, participants, registry, logger);
  rooms.beforeSweep = () => lost.sweep();
  await settings.reload();
  await registry.start();
  await bus.start();

  const clientApp = runtime.createApp(
    'client',
    [
      ...tokenRoutes(tokens),
      ...signalRoutes(tokens, relay),
      ...twirpRoutes(tokens, { 'livekit.RoomService': roomServiceMethods(rooms, participants), 'livekit.Egress': egressMethods(recordings) }),
    ],
    {
      mount: (app) => {
        // LiveKit's health check: any method on exactly `/` returns 200 `OK`.
        app.all('/', (_req, res) => {
          res.type('text/plain').send('OK');
        });
        mountTwirpFallback(app);
      },
    },
  );
  const adminApp = runtime.createApp('admin', [
    ...roomRoutes(rooms, participants),
    ...recordingRoutes(recordings, rooms),
    ...statsRoutes(stats),
  ]);

  const clientServer = await runtime.listen('client', clientApp, config.LIVEKIT_CLIENT_PORT);
  signal.attach(clientServer);
  await runtime.listen('admin', adminApp, config.LIVEKIT_ADMIN_PORT);

  const commandWorker = startCommandWorker(queues, rooms, settings);
  const encoderEventsWorker = startEncoderEventsWorker(queues, redis, config.REDIS_KEY_PREFIX, recordings, logger);
  const webhookWorker = webhookQueue
    ? startWebhookWorker(queues, {
        apiKey: config.LIVEKIT_API_KEY,
        apiSecret: config.LIVEKIT_API_SECRET,
        attempts: config.LIVEKIT_WEBHOOK_ATTEMPTS,
        backoffMs: config.LIVEKIT_WEBHOOK_BACKOFF_MS,
        timeoutMs: config.LIVEKIT_WEBHOOK_TIMEOUT_MS,
        redis,
        prefix,
        logger,
      })
    : undefined;
  rooms.startSweeper(config.LIVEKIT_ROOM_SWEEP_INTERVAL_MS);
  recordings.startSweeper(config.LIVEKIT_ROOM_SWEEP_INTERVAL_MS);
  const reloader = setInterval(() => void settings.reload().catch(() => undefined), config.LIVEKIT_ROOM_SWEEP_INTERVAL_MS);
  reloader.unref();
  relay.startFlusher();

  runtime.shutdown.register('signal sockets', () => signal.close());
  // After the sockets, so this replica's participants are gone before it stops counting as alive.
  runtime.shutdown.register('node key', () => registry.stop());
  runtime.shutdown.register('sweepers', () => {
    rooms.stopSweeper();
    recordings.stopSweeper();
    clearInterval(reloader);
    return relay.stop();
  });
  runtime.shutdown.register('command worker', () => commandWorker.close());
  runtime.shutdown.register('encoder events worker', () => encoderEventsWorker.close());
  runtime.shutdown.register('webhook worker', () => webhookWorker?.close());
  runtime.shutdown.register('queues', () => Promise.allSettled([webhookQueue?.close(), publisher.close(), encoder.close()]));
  runtime.shutdown.register('signal bus subscriber', () => closeRedis(subscriber));
  runtime.closeRedisLast();
  logger.info('livekit-server started', { nodeId, webhookUrls: urls.length });
  return Object.assign(runtime, { nodeId });
}
