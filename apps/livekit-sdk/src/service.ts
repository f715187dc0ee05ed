import { Runtime } from '@castplane/http';
import type { RunningService } from '@castplane/http';

import type { LivekitSdkConfig } from './config';
import { SECRETS } from './config';

export interface StartOptions {
  logStream?: NodeJS.WritableStream;
}

/** Starts the livekit-sdk listeners and returns handles for shutdown and tests. */
export async function startLivekitSdk(config: Readonly<LivekitSdkConfig>, options: StartOptions = {}): Promise<RunningService> {
  const runtime = new Runtime({ service: 'livekit-sdk', config, secrets: SECRETS, logStream: options.logStream });

  await runtime.listen('api', runtime.createApp('api', []), config.LIVEKIT_SDK_API_PORT);
  await runtime.listen('webhooks', runtime.createApp('webhooks', []), config.LIVEKIT_SDK_WEBHOOK_PORT);
  runtime.closeRedisLast();
  return runtime;
}
