import { Runtime } from '@castplane/http';
import type { RunningService } from '@castplane/http';

import type { EncoderConfig } from './config';
import { SECRETS } from './config';

export interface StartOptions {
  logStream?: NodeJS.WritableStream;
}

/** Starts the encoder listeners and returns handles for shutdown and tests. */
export async function startEncoder(config: Readonly<EncoderConfig>, options: StartOptions = {}): Promise<RunningService> {
  const runtime = new Runtime({ service: 'encoder', config, secrets: SECRETS, logStream: options.logStream });

  await runtime.listen('api', runtime.createApp('api', []), config.ENCODER_API_PORT);
  await runtime.listen('monitoring', runtime.createApp('monitoring', []), config.ENCODER_MONITORING_PORT);
  runtime.closeRedisLast();
  return runtime;
}
