import { BASE_SECRETS, Joi, baseEnvSchema, loadConfig } from '@castplane/config';
import type { BaseConfig } from '@castplane/config';

const url = () => Joi.string().uri({ scheme: ['http', 'https'] });

export const configSchema = baseEnvSchema.keys({
  ORCHESTRATOR_API_PORT: Joi.number().port().default(4000),
  ORCHESTRATOR_HEALTH_PORT: Joi.number().port().default(4001),
  SRS_ADAPTER_URL: url().default('http://127.0.0.1:1985'),
  ENCODER_URL: url().default('http://127.0.0.1:9001'),
  ENCODER_MONITORING_URL: url().default('http://127.0.0.1:9002'),
  LIVEKIT_SERVER_URL: url().default('http://127.0.0.1:7880'),
  LIVEKIT_SERVER_ADMIN_URL: url().default('http://127.0.0.1:7881'),
  LIVEKIT_SDK_URL: url().default('http://127.0.0.1:3001'),
  MEDIA_PUBLIC_URL: url().default('http://127.0.0.1:8080/media'),
  ORCHESTRATOR_STEP_TIMEOUT_MS: Joi.number().integer().min(100).max(600000).default(15000),
  ORCHESTRATOR_STEP_ATTEMPTS: Joi.number().integer().min(1).max(20).default(3),
  ORCHESTRATOR_STEP_BACKOFF_MS: Joi.number().integer().min(0).max(60000).default(500),
  ORCHESTRATOR_WAIT_TIMEOUT_MS: Joi.number().integer().min(1000).max(600000).default(60000),
  ORCHESTRATOR_FLOW_LOCK_MS: Joi.number().integer().min(1000).max(600000).default(30000),
  ORCHESTRATOR_HEALTH_TIMEOUT_MS: Joi.number().integer().min(100).max(60000).default(2000),
  ORCHESTRATOR_DEFAULT_PROFILES: Joi.string()
    .pattern(/^[a-z0-9_-]+(,[a-z0-9_-]+)*$/i)
    .default('720p,480p,360p'),
  ORCHESTRATOR_STOP_TRANSCODE_ON_END: Joi.boolean().default(false),
  /** Days a stopped or failed orchestration is kept before it expires. */
  ORCHESTRATOR_RETENTION_DAYS: Joi.number().integer().min(1).max(3650).default(30),
  CONFIG_SYNC_FILE: Joi.string(),
  CONFIG_SYNC_SRS: Joi.string(),
  CONFIG_SYNC_LIVEKIT: Joi.string(),
  CONFIG_SYNC_ENCODER: Joi.string(),
});

export const SECRETS = [...BASE_SECRETS] as const;

export interface OrchestratorConfig extends BaseConfig {
  ORCHESTRATOR_API_PORT: number;
  ORCHESTRATOR_HEALTH_PORT: number;
  SRS_ADAPTER_URL: string;
  ENCODER_URL: string;
  ENCODER_MONITORING_URL: string;
  LIVEKIT_SERVER_URL: string;
  LIVEKIT_SERVER_ADMIN_URL: string;
  LIVEKIT_SDK_URL: string;
  MEDIA_PUBLIC_URL: string;
  ORCHESTRATOR_STEP_TIMEOUT_MS: number;
  ORCHESTRATOR_STEP_ATTEMPTS: number;
  ORCHESTRATOR_STEP_BACKOFF_MS: number;
  ORCHESTRATOR_WAIT_TIMEOUT_MS: number;
  ORCHESTRATOR_FLOW_LOCK_MS: number;
  ORCHESTRATOR_HEALTH_TIMEOUT_MS: number;
  ORCHESTRATOR_DEFAULT_PROFILES: string;
  /** Sends the encoder an idempotent `transcode.stop` when a stream ends for good; off by default because the encoder stops it on `stream.ended` itself. */
  ORCHESTRATOR_STOP_TRANSCODE_ON_END: boolean;
  ORCHESTRATOR_RETENTION_DAYS: number;
  /** JSON or YAML file with `srs`, `livekit` and `encoder` settings objects for config sync. */
  CONFIG_SYNC_FILE?: string;
  /** JSON objects seeding the central settings when no file is given. */
  CONFIG_SYNC_SRS?: string;
  CONFIG_SYNC_LIVEKIT?: string;
  CONFIG_SYNC_ENCODER?: string;
}

export function loadConfigFromEnv(env: NodeJS.ProcessEnv): Readonly<OrchestratorConfig> {
  return loadConfig<OrchestratorConfig>(configSchema, env, SECRETS);
}
