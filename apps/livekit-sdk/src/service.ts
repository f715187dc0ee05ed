import { Runtime } from '@castplane/http';
import type { RunningService } from '@castplane/http';
import { EventPublisher, createQueue, createWorker } from '@castplane/redis';

import { LivekitClients } from './clients/livekit.client';
import type { LivekitSdkConfig } from './config';
import { SECRETS, signalBaseUrl } from './config';
import { startCommandWorker } from './jobs/commands.worker';
import { apiRoutes } from './routes/api.routes';
import { webhookRoutes } from './routes/webhook.routes';
import type { AppServices } from './services';
import { AnalyticsService } from './services/analytics.service';
import { AnalyticsStore } from './services/analytics.store';
import { AuthService } from './services/auth.service';
import { ClientRegistry } from './services/client-registry';
import { RegionService, parseRegions } from './services/region.service';
import { RoomService } from './services/room.service';
import { SecretBox } from './services/secret-box';
import { SettingsService } from './services/settings.service';
import { StreamService } from './services/stream.service';
import { TokenService } from './services/token.service';
import { WEBHOOK_QUEUE, WebhookIntake, WebhookProcessor } from './services/webhook.service';
import type { WebhookJob } from './services/webhook.service';

export interface StartOptions {
  logStream?: NodeJS.WritableStream;
}

function defaultSettings(config: Readonly<LivekitSdkConfig>) {
  return {
    livekitUrl: config.LIVEKIT_URL,
    apiKey: config.LIVEKIT_API_KEY,
    apiSecret: config.LIVEKIT_API_SECRET,
    defaultTokenTtlSeconds: config.SDK_DEFAULT_TOKEN_TTL_SECONDS,
    // LiveKit's own defaults for new rooms: 300 s empty timeout, 20 s departure timeout, no limit.
    defaultRoom: { emptyTimeout: 300, departureTimeout: 20, maxParticipants: 0 },
    webhook: { clockToleranceSeconds: config.SDK_WEBHOOK_CLOCK_TOLERANCE_SECONDS, acceptedEvents: [] },
  };
}

// Parses the client and region lists before anything connects, so a bad entry fails startup cleanly.
function loadStatic(config: Readonly<LivekitSdkConfig>) {
  const clients = ClientRegistry.load({
    inline: config.SDK_CLIENTS,
    file: config.SDK_CLIENTS_FILE,
    devSecret: config.SDK_DEV_CLIENT_SECRET,
    nodeEnv: config.NODE_ENV,
  });
  return { clients, regions: parseRegions(config.LIVEKIT_REGIONS, config.LIVEKIT_URL) };
}

function buildServices(
  runtime: Runtime,
  config: Readonly<LivekitSdkConfig>,
  settings: SettingsService,
  { clients, regions: regionList }: ReturnType<typeof loadStatic>,
) {
  const { redis, logger } = runtime;
  const keyPrefix = config.REDIS_KEY_PREFIX;
  const livekit = new LivekitClients(() => settings.target(), config.LIVEKIT_REQUEST_TIMEOUT_SECONDS);
  const tokens = new TokenService({ redis, keyPrefix, livekit });
  const signalBase = () => signalBaseUrl(settings.current().livekitUrl, config.LIVEKIT_SIGNAL_URL);
  const rooms = new RoomService({ livekit, tokens, settings, signalBase });

  const auth = new AuthService({
    redis,
    keyPrefix,
    clients,
    logger,
    settings: {
      jwtSecret: config.AUTH_JWT_SECRET,
      jwtIssuer: config.AUTH_JWT_ISSUER,
      accessTtlSeconds: config.SDK_ACCESS_TOKEN_TTL_SECONDS,
      refreshTtlSeconds: config.SDK_REFRESH_TOKEN_TTL_SECONDS,
      maxLoginFailures: config.SDK_LOGIN_MAX_FAILURES,
      loginWindowSeconds: config.SDK_LOGIN_WINDOW_SECONDS,
    },
  });

  const retentionDays = config.SDK_ANALYTICS_RETENTION_DAYS;
  const store = new AnalyticsStore({ redis, keyPrefix, retentionDays });
  const regions = new RegionService({
    regions: regionList,
    timeoutMs: config.LIVEKIT_REGION_PROBE_TIMEOUT_MS,
  });
  return { livekit, tokens, rooms, auth, store, regions, clients };
}

/** Starts the SDK API, the webhook receiver and the queue workers, and returns handles for shutdown and tests. */
export async function startLivekitSdk(
  config: Readonly<LivekitSdkConfig>,
  options: StartOptions = {},
): Promise<RunningService> {
  const { logStream } = options;
  const loaded = loadStatic(config);
  const runtime = new Runtime({ service: 'livekit-sdk', config, secrets: SECRETS, logStream });
  const { redis, logger } = runtime;
  const keyPrefix = config.REDIS_KEY_PREFIX;
  const secretBox = config.SDK_SETTINGS_ENCRYPTION_KEY ? new SecretBox(config.SDK_SETTINGS_ENCRYPTION_KEY) : undefined;
  const settings = new SettingsService({ redis, keyPrefix, defaults: defaultSettings(config), logger, secretBox });
  await settings.start();

  const built = buildServices(runtime, config, settings, loaded);
  const webhookQueue = createQueue<WebhookJob>(runtime.queues, WEBHOOK_QUEUE);
  const events = new EventPublisher(runtime.queues, 'livekit-sdk');
  const services: AppServices = {
    auth: built.auth,
    streams: new StreamService({ redis, keyPrefix, livekit: built.livekit, rooms: built.rooms, logger }),
    rooms: built.rooms,
    tokens: built.tokens,
    settings,
    regions: built.regions,
    analytics: new AnalyticsService(built.store),
    webhooks: new WebhookIntake({
      redis,
      keyPrefix,
      livekit: built.livekit,
      settings,
      queue: webhookQueue,
      logger,
    }),
  };
  const processor = new WebhookProcessor({ redis, keyPrefix, analytics: built.store, events, logger });
  // One job at a time keeps the order in which LiveKit delivered a room's events on this replica.
  const webhookWorker = createWorker<WebhookJob>(
    runtime.queues,
    WEBHOOK_QUEUE,
    (job) => processor.process(job.data),
    { concurrency: 1 },
  );
  const commandWorker = startCommandWorker(runtime.queues, services);
  logger.info('sdk clients loaded', { clients: built.clients.size });

  await runtime.listen('api', runtime.createApp('api', apiRoutes(services)), config.LIVEKIT_SDK_API_PORT);
  const webhookApp = runtime.createApp('webhooks', webhookRoutes(services.webhooks));
  await runtime.listen('webhooks', webhookApp, config.LIVEKIT_SDK_WEBHOOK_PORT);

  runtime.shutdown.register('command worker', () => commandWorker.close());
  runtime.shutdown.register('webhook worker', () => webhookWorker.close());
  runtime.shutdown.register('queues', () => Promise.allSettled([webhookQueue.close(), events.close()]));
  runtime.shutdown.register('settings reload', () => settings.stop());
  runtime.closeRedisLast();
  return runtime;
}
