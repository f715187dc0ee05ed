import { BASE_SECRETS, Joi, baseEnvSchema, loadConfig } from '@castplane/config';
import type { BaseConfig } from '@castplane/config';

export const configSchema = baseEnvSchema.keys({
  LIVEKIT_SDK_API_PORT: Joi.number().port().default(3001),
  LIVEKIT_SDK_WEBHOOK_PORT: Joi.number().port().default(3002),
  LIVEKIT_URL: Joi.string()
    .uri({ scheme: ['http', 'https', 'ws', 'wss'] })
    .default('http://127.0.0.1:7880'),
  LIVEKIT_API_KEY: Joi.string().min(3).required(),
  LIVEKIT_API_SECRET: Joi.string().min(8).required(),
  LIVEKIT_SIGNAL_URL: Joi.string().uri({ scheme: ['ws', 'wss', 'http', 'https'] }),
  LIVEKIT_REQUEST_TIMEOUT_SECONDS: Joi.number().integer().min(1).max(120).default(10),
  LIVEKIT_REGIONS: Joi.string().allow('').default(''),
  LIVEKIT_REGION_PROBE_TIMEOUT_MS: Joi.number().integer().min(50).max(30000).default(1500),
  SDK_CLIENTS: Joi.string().allow('').default(''),
  SDK_CLIENTS_FILE: Joi.string(),
  SDK_DEV_CLIENT_SECRET: Joi.string().min(16),
  SDK_ACCESS_TOKEN_TTL_SECONDS: Joi.number().integer().min(10).max(86400).default(900),
  SDK_REFRESH_TOKEN_TTL_SECONDS: Joi.number().integer().min(60).max(90 * 86400).default(7 * 86400),
  SDK_LOGIN_MAX_FAILURES: Joi.number().integer().min(1).max(1000).default(5),
  SDK_LOGIN_WINDOW_SECONDS: Joi.number().integer().min(1).max(86400).default(300),
  SDK_DEFAULT_TOKEN_TTL_SECONDS: Joi.number().integer().min(10).max(86400).default(3600),
  SDK_WEBHOOK_CLOCK_TOLERANCE_SECONDS: Joi.number().integer().min(0).max(600).default(60),
  /** Passphrase that encrypts the LiveKit API secret stored by `PUT /config`. Without it that secret cannot be stored. */
  SDK_SETTINGS_ENCRYPTION_KEY: Joi.string().min(32),
  SDK_ANALYTICS_RETENTION_DAYS: Joi.number().integer().min(1).max(365).default(30),
});

export const SECRETS = [...BASE_SECRETS, 'LIVEKIT_API_SECRET', 'SDK_CLIENTS', 'SDK_DEV_CLIENT_SECRET', 'SDK_SETTINGS_ENCRYPTION_KEY'] as const;

export interface LivekitSdkConfig extends BaseConfig {
  LIVEKIT_SDK_API_PORT: number;
  LIVEKIT_SDK_WEBHOOK_PORT: number;
  LIVEKIT_URL: string;
  LIVEKIT_API_KEY: string;
  LIVEKIT_API_SECRET: string;
  LIVEKIT_SIGNAL_URL?: string;
  LIVEKIT_REQUEST_TIMEOUT_SECONDS: number;
  LIVEKIT_REGIONS: string;
  LIVEKIT_REGION_PROBE_TIMEOUT_MS: number;
  SDK_CLIENTS: string;
  SDK_CLIENTS_FILE?: string;
  SDK_DEV_CLIENT_SECRET?: string;
  SDK_SETTINGS_ENCRYPTION_KEY?: string;
  SDK_ACCESS_TOKEN_TTL_SECONDS: number;
  SDK_REFRESH_TOKEN_TTL_SECONDS: number;
  SDK_LOGIN_MAX_FAILURES: number;
  SDK_LOGIN_WINDOW_SECONDS: number;
  SDK_DEFAULT_TOKEN_TTL_SECONDS: number;
  SDK_WEBHOOK_CLOCK_TOLERANCE_SECONDS: number;
  SDK_ANALYTICS_RETENTION_DAYS: number;
}

export function loadConfigFromEnv(env: NodeJS.ProcessEnv): Readonly<LivekitSdkConfig> {
  return loadConfig<LivekitSdkConfig>(configSchema, env, SECRETS);
}

/** The WebSocket signalling base a join returns: `LIVEKIT_SIGNAL_URL`, else derived from `LIVEKIT_URL`. */
export function signalBaseUrl(livekitUrl: string, explicit?: string): string {
  if (explicit) return explicit.replace(/\/+$/, '');
  const url = new URL(livekitUrl);
  url.protocol = url.protocol === 'https:' || url.protocol === 'wss:' ? 'wss:' : 'ws:';
  return `${url.origin}/signal`;
}
