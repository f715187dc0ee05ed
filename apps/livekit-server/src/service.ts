import { Runtime } from '@castplane/http';
import type { RunningService } from '@castplane/http';

import type { LivekitServerConfig } from './config';
import { SECRETS } from './config';

export interface StartOptions {
  logStream?: NodeJS.WritableStream;
}

/** Starts the livekit-server listeners and returns handles for shutdown and tests. */
export async function startLivekitServer(config: Readonly<LivekitServerConfig>, options: StartOptions = {}): Promise<RunningService> {
  const runtime = new Runtime({ service: 'livekit-server', config, secrets: SECRETS, logStream: options.logStream });

  await runtime.listen('client', runtime.createApp('client', []), config.LIVEKIT_CLIENT_PORT);
  await runtime.listen('admin', runtime.createApp('admin', []), config.LIVEKIT_ADMIN_PORT);
  runtime.closeRedisLast();
  return runtime;
}
