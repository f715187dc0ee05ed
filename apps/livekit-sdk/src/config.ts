import { BASE_SECRETS, Joi, baseEnvSchema, loadConfig } from '@castplane/config';
import type { BaseConfig } from '@castplane/config';

export const configSchema = baseEnvSchema.keys({
  LIVEKIT_SDK_API_PORT: Joi.number().port().default(3001),
  LIVEKIT_SDK_WEBHOOK_PORT: Joi.number().port().default(3002),
});

export const SECRETS = [...BASE_SECRETS] as const;

export interface LivekitSdkConfig extends BaseConfig {
  LIVEKIT_SDK_API_PORT: number;
  LIVEKIT_SDK_WEBHOOK_PORT: number;
}

export function loadConfigFromEnv(env: NodeJS.ProcessEnv): Readonly<LivekitSdkConfig> {
  return loadConfig<LivekitSdkConfig>(configSchema, env, SECRETS);
}
