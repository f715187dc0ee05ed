import { Runtime } from '@castplane/http';
import type { RunningService } from '@castplane/http';

import type { SrsAdapterConfig } from './config';
import { SECRETS } from './config';

export interface StartOptions {
  logStream?: NodeJS.WritableStream;
}

/** Starts the srs-adapter listeners and returns handles for shutdown and tests. */
export async function startSrsAdapter(config: Readonly<SrsAdapterConfig>, options: StartOptions = {}): Promise<RunningService> {
  const runtime = new Runtime({ service: 'srs-adapter', config, secrets: SECRETS, logStream: options.logStream });

  await runtime.listen('api', runtime.createApp('api', []), config.SRS_ADAPTER_PORT);
  runtime.closeRedisLast();
  return runtime;
}
