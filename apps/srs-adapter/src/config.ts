import { BASE_SECRETS, Joi, baseEnvSchema, loadConfig } from '@castplane/config';
import type { BaseConfig } from '@castplane/config';

export const configSchema = baseEnvSchema.keys({
  SRS_ADAPTER_PORT: Joi.number().port().default(1985),
});

export const SECRETS = [...BASE_SECRETS] as const;

export interface SrsAdapterConfig extends BaseConfig {
  SRS_ADAPTER_PORT: number;
}

export function loadConfigFromEnv(env: NodeJS.ProcessEnv): Readonly<SrsAdapterConfig> {
  return loadConfig<SrsAdapterConfig>(configSchema, env, SECRETS);
}
