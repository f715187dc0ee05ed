import { BASE_SECRETS, Joi, baseEnvSchema, loadConfig } from '@castplane/config';
import type { BaseConfig } from '@castplane/config';

export const configSchema = baseEnvSchema.keys({
  LIVEKIT_CLIENT_PORT: Joi.number().port().default(7880),
  LIVEKIT_ADMIN_PORT: Joi.number().port().default(7881),
});

export const SECRETS = [...BASE_SECRETS] as const;

export interface LivekitServerConfig extends BaseConfig {
  LIVEKIT_CLIENT_PORT: number;
  LIVEKIT_ADMIN_PORT: number;
}

export function loadConfigFromEnv(env: NodeJS.ProcessEnv): Readonly<LivekitServerConfig> {
  return loadConfig<LivekitServerConfig>(configSchema, env, SECRETS);
}
