import { Runtime } from '@castplane/http';
import type { RunningService } from '@castplane/http';
import { subscribeEvents } from '@castplane/redis';

import { CommandGateway } from './clients/command.gateway';
import type { OrchestratorConfig } from './config';
import { SECRETS } from './config';
import { FlowRunner } from './flow/flow.runner';
import { configSyncRoutes, coordinationRoutes, healthRoutes } from './routes/coordination.routes';
import { orchestrateRoutes } from './routes/orchestrate.routes';
import { ConfigSyncService, readSeed } from './services/config-sync.service';
import { OrchestrationEventHandler } from './services/event.handler';
import { HealthService } from './services/health.service';
import { OrchestrationService } from './services/orchestration.service';
import { OrchestrationStore } from './services/orchestration.store';

export interface StartOptions {
  logStream?: NodeJS.WritableStream;
}

/** Starts the orchestrator listeners, the flow worker and the event consumer. */
export async function startOrchestrator(config: Readonly<OrchestratorConfig>, options: StartOptions = {}): Promise<RunningService> {
  const runtime = new Runtime({ service: 'orchestrator', config, secrets: SECRETS, logStream: options.logStream });
  const prefix = config.REDIS_KEY_PREFIX;
  const timeoutMs = config.ORCHESTRATOR_STEP_TIMEOUT_MS;
  const defaultProfiles = config.ORCHESTRATOR_DEFAULT_PROFILES.split(',');

  const store = new OrchestrationStore(runtime.redis, prefix, config.ORCHESTRATOR_RETENTION_DAYS * 86400);
  const gateway = new CommandGateway(runtime.queues);
  const flow = new FlowRunner({
    store,
    gateway,
    queues: runtime.queues,
    logger: runtime.logger,
    settings: {
      stepTimeoutMs: timeoutMs,
      stepAttempts: config.ORCHESTRATOR_STEP_ATTEMPTS,
      stepBackoffMs: config.ORCHESTRATOR_STEP_BACKOFF_MS,
      lockMs: config.ORCHESTRATOR_FLOW_LOCK_MS,
    },
  });
  const orchestrations = new OrchestrationService({ store, flow, gateway, mediaPublicUrl: config.MEDIA_PUBLIC_URL, stepTimeoutMs: timeoutMs });
  const sync = new ConfigSyncService(runtime.redis, prefix, gateway, timeoutMs);
  await sync.seed(readSeed(config));
  const events = new OrchestrationEventHandler({
    redis: runtime.redis,
    keyPrefix: prefix,
    store,
    gateway,
    logger: runtime.logger,
    stepTimeoutMs: timeoutMs,
    stopTranscodeOnEnd: config.ORCHESTRATOR_STOP_TRANSCODE_ON_END,
  });
  const health = new HealthService(config, runtime.redis, gateway);

  flow.startWorker();
  const eventWorker = subscribeEvents(runtime.queues, 'orchestrator', (event) => events.handle(event));
  runtime.shutdown.register('event worker', () => eventWorker.close());
  runtime.shutdown.register('flow', () => flow.close());
  runtime.shutdown.register('command queues', () => gateway.close());

  const apiRoutes = [
    ...orchestrateRoutes({ orchestrations, waitTimeoutMs: config.ORCHESTRATOR_WAIT_TIMEOUT_MS, defaultProfiles }),
    ...coordinationRoutes({ gateway, timeoutMs, defaultProfiles }),
    ...configSyncRoutes(sync),
  ];
  await runtime.listen('api', runtime.createApp('api', apiRoutes), config.ORCHESTRATOR_API_PORT);
  await runtime.listen('health', runtime.createApp('health', healthRoutes(health)), config.ORCHESTRATOR_HEALTH_PORT);
  runtime.closeRedisLast();
  return runtime;
}
