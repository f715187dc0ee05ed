import { BASE_SECRETS, Joi, baseEnvSchema, loadConfig } from '@castplane/config';
import type { BaseConfig } from '@castplane/config';

export const configSchema = baseEnvSchema.keys({
  ENCODER_API_PORT: Joi.number().port().default(9001),
  ENCODER_MONITORING_PORT: Joi.number().port().default(9002),
});

export const SECRETS = [...BASE_SECRETS] as const;

export interface EncoderConfig extends BaseConfig {
  ENCODER_API_PORT: number;
  ENCODER_MONITORING_PORT: number;
}

export function loadConfigFromEnv(env: NodeJS.ProcessEnv): Readonly<EncoderConfig> {
  return loadConfig<EncoderConfig>(configSchema, env, SECRETS);
}
