import { BASE_SECRETS, Joi, baseEnvSchema, loadConfig } from '@castplane/config';
import type { BaseConfig } from '@castplane/config';

export const configSchema = baseEnvSchema.keys({
  ORCHESTRATOR_API_PORT: Joi.number().port().default(4000),
  ORCHESTRATOR_HEALTH_PORT: Joi.number().port().default(4001),
});

export const SECRETS = [...BASE_SECRETS] as const;

export interface OrchestratorConfig extends BaseConfig {
  ORCHESTRATOR_API_PORT: number;
  ORCHESTRATOR_HEALTH_PORT: number;
}

export function loadConfigFromEnv(env: NodeJS.ProcessEnv): Readonly<OrchestratorConfig> {
  return loadConfig<OrchestratorConfig>(configSchema, env, SECRETS);
}
