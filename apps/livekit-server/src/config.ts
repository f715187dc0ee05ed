import { BASE_SECRETS, Joi, baseEnvSchema, loadConfig } from '@castplane/config';
import type { BaseConfig } from '@castplane/config';

export const configSchema = baseEnvSchema.keys({
  LIVEKIT_CLIENT_PORT: Joi.number().port().default(7880),
  LIVEKIT_ADMIN_PORT: Joi.number().port().default(7881),
  LIVEKIT_API_KEY: Joi.string().pattern(/^[A-Za-z0-9_-]{3,64}$/).required(),
  LIVEKIT_API_SECRET: Joi.string().min(32).required(),
  LIVEKIT_WEBHOOK_URLS: Joi.string()
    .allow('')
    .custom((value: string, helpers) => {
      const invalid = value.split(',').map((url) => url.trim()).filter((url) => url && !/^https?:\/\/[^\s]+$/.test(url));
      return invalid.length > 0 ? helpers.message({ custom: 'LIVEKIT_WEBHOOK_URLS must be a comma-separated list of http(s) URLs' }) : value;
    })
    .default('http://127.0.0.1:3002/webhooks/livekit'),
  LIVEKIT_TOKEN_MAX_TTL_SECONDS: Joi.number().integer().min(60).max(7 * 86400).default(86400),
  LIVEKIT_TOKEN_DEFAULT_TTL_SECONDS: Joi.number().integer().min(60).max(7 * 86400).default(6 * 3600),
  LIVEKIT_CLOCK_SKEW_SECONDS: Joi.number().integer().min(0).max(300).default(60),
  LIVEKIT_HEARTBEAT_INTERVAL_MS: Joi.number().integer().min(100).max(120000).default(15000),
  LIVEKIT_DEFAULT_EMPTY_TIMEOUT_SECONDS: Joi.number().integer().min(1).max(86400).default(300),
  LIVEKIT_DEFAULT_DEPARTURE_TIMEOUT_SECONDS: Joi.number().integer().min(0).max(86400).default(20),
  LIVEKIT_DEFAULT_MAX_PARTICIPANTS: Joi.number().integer().min(0).max(100000).default(0),
  LIVEKIT_AUTO_CREATE_ROOMS: Joi.boolean().default(true),
  LIVEKIT_DUPLICATE_IDENTITY: Joi.string().valid('replace', 'reject').default('replace'),
  LIVEKIT_MAX_SIGNAL_MESSAGE_BYTES: Joi.number().integer().min(1024).max(1048576).default(65536),
  LIVEKIT_ROOM_SWEEP_INTERVAL_MS: Joi.number().integer().min(100).max(60000).default(5000),
  LIVEKIT_NODE_TIMEOUT_MS: Joi.number().integer().min(1000).max(600000).default(30000),
  LIVEKIT_WEBHOOK_ATTEMPTS: Joi.number().integer().min(1).max(20).default(5),
  LIVEKIT_WEBHOOK_BACKOFF_MS: Joi.number().integer().min(10).max(60000).default(1000),
  LIVEKIT_WEBHOOK_TIMEOUT_MS: Joi.number().integer().min(100).max(60000).default(5000),
  LIVEKIT_ENCODER_TIMEOUT_MS: Joi.number().integer().min(500).max(120000).default(15000),
  LIVEKIT_EGRESS_ENDING_TIMEOUT_MS: Joi.number().integer().min(1000).max(3600000).default(120000),
  LIVEKIT_RECORDING_RETENTION_DAYS: Joi.number().integer().min(1).max(3650).default(30),
});

export const SECRETS = [...BASE_SECRETS, 'LIVEKIT_API_SECRET'] as const;

export interface LivekitServerConfig extends BaseConfig {
  LIVEKIT_CLIENT_PORT: number;
  LIVEKIT_ADMIN_PORT: number;
  LIVEKIT_API_KEY: string;
  LIVEKIT_API_SECRET: string;
  LIVEKIT_WEBHOOK_URLS: string;
  LIVEKIT_TOKEN_MAX_TTL_SECONDS: number;
  LIVEKIT_TOKEN_DEFAULT_TTL_SECONDS: number;
  LIVEKIT_CLOCK_SKEW_SECONDS: number;
  LIVEKIT_HEARTBEAT_INTERVAL_MS: number;
  LIVEKIT_DEFAULT_EMPTY_TIMEOUT_SECONDS: number;
  LIVEKIT_DEFAULT_DEPARTURE_TIMEOUT_SECONDS: number;
  LIVEKIT_DEFAULT_MAX_PARTICIPANTS: number;
  LIVEKIT_AUTO_CREATE_ROOMS: boolean;
  LIVEKIT_DUPLICATE_IDENTITY: 'replace' | 'reject';
  LIVEKIT_MAX_SIGNAL_MESSAGE_BYTES: number;
  LIVEKIT_ROOM_SWEEP_INTERVAL_MS: number;
  /** How long a replica may go without refreshing its node key before others remove its participants. */
  LIVEKIT_NODE_TIMEOUT_MS: number;
  LIVEKIT_WEBHOOK_ATTEMPTS: number;
  LIVEKIT_WEBHOOK_BACKOFF_MS: number;
  LIVEKIT_WEBHOOK_TIMEOUT_MS: number;
  LIVEKIT_ENCODER_TIMEOUT_MS: number;
  /** How long a recording may stay `ending` without the encoder reporting its end before it is marked failed. */
  LIVEKIT_EGRESS_ENDING_TIMEOUT_MS: number;
  /** Days an ended recording stays listed before it is removed from Redis (its file stays). */
  LIVEKIT_RECORDING_RETENTION_DAYS: number;
}

/** Splits the comma list of webhook URLs; an empty value turns webhooks off. */
export function webhookUrls(config: Pick<LivekitServerConfig, 'LIVEKIT_WEBHOOK_URLS'>): string[] {
  return config.LIVEKIT_WEBHOOK_URLS.split(',')
    .map((url) => url.trim())
    .filter(Boolean);
}

export function loadConfigFromEnv(env: NodeJS.ProcessEnv): Readonly<LivekitServerConfig> {
  return loadConfig<LivekitServerConfig>(configSchema, env, SECRETS);
}
