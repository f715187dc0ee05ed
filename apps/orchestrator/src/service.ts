import { Runtime } from '@castplane/http';
import type { RunningService } from '@castplane/http';

import type { OrchestratorConfig } from './config';
import { SECRETS } from './config';

export interface StartOptions {
  logStream?: NodeJS.WritableStream;
}

/** Starts the orchestrator listeners and returns handles for shutdown and tests. */
export async function startOrchestrator(config: Readonly<OrchestratorConfig>, options: StartOptions = {}): Promise<RunningService> {
  const runtime = new Runtime({ service: 'orchestrator', config, secrets: SECRETS, logStream: options.logStream });

  await runtime.listen('api', runtime.createApp('api', []), config.ORCHESTRATOR_API_PORT);
  await runtime.listen('health', runtime.createApp('health', []), config.ORCHESTRATOR_HEALTH_PORT);
  runtime.closeRedisLast();
  return runtime;
}
