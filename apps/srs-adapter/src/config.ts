import { BASE_SECRETS, Joi, baseEnvSchema, loadConfig } from '@castplane/config';
import type { BaseConfig } from '@castplane/config';
import { parseHostList } from '@castplane/http';

export type TakeoverPolicy = 'reject' | 'kick';

export const configSchema = baseEnvSchema.keys({
  SRS_ADAPTER_PORT: Joi.number().port().default(1985),
  RTMP_PORT: Joi.number().port().default(1935),
  MEDIA_HTTP_PORT: Joi.number().port().default(8080),
  /** Base URL of a real SRS HTTP API (for example http://srs:1985); unset runs the embedded ingest. */
  SRS_API_URL: Joi.string().uri({ scheme: ['http', 'https'] }),
  SRS_API_TIMEOUT_MS: Joi.number().integer().min(100).max(60000).default(3000),
  SRS_CALLBACK_SECRET: Joi.string().min(16).required(),
  MEDIA_ROOT: Joi.string().default('.data/media'),
  DVR_ROOT: Joi.string().default('.data/dvr'),
  PUBLIC_RTMP_URL: Joi.string().uri({ scheme: ['rtmp', 'rtmps'] }),
  PUBLIC_HTTP_URL: Joi.string().uri({ scheme: ['http', 'https'] }),
  DEFAULT_RECONNECT_WINDOW_SECONDS: Joi.number().integer().min(0).max(3600).default(10),
  PUBLISH_TAKEOVER: Joi.string().valid('reject', 'kick').default('reject'),
  DVR_DEFAULT: Joi.boolean().default(false),
  RECONCILE_INTERVAL_MS: Joi.number().integer().min(200).max(600000).default(5000),
  HLS_SEGMENT_SECONDS: Joi.number().integer().min(1).max(10).default(2),
  HLS_LIST_SIZE: Joi.number().integer().min(3).max(60).default(6),
  PLAYBACK_TOKEN_TTL_SECONDS: Joi.number().integer().min(10).max(7 * 86400).default(3600),
  FFMPEG_PATH: Joi.string().default('ffmpeg'),
  /**
   * Hosts, IP addresses and CIDR ranges that source ingests may pull from, comma-separated, or `*`.
   * When empty, only loopback, link-local, cloud metadata, unspecified, multicast and broadcast
   * addresses are rejected.
   */
  INGEST_ALLOWED_HOSTS: Joi.string()
    .allow('')
    .default('')
    .custom((value: string) => (parseHostList(value), value)),
});

export const SECRETS = [...BASE_SECRETS, 'SRS_CALLBACK_SECRET'] as const;

export interface SrsAdapterConfig extends BaseConfig {
  SRS_ADAPTER_PORT: number;
  RTMP_PORT: number;
  MEDIA_HTTP_PORT: number;
  SRS_API_URL?: string;
  SRS_API_TIMEOUT_MS: number;
  SRS_CALLBACK_SECRET: string;
  MEDIA_ROOT: string;
  DVR_ROOT: string;
  PUBLIC_RTMP_URL?: string;
  PUBLIC_HTTP_URL?: string;
  DEFAULT_RECONNECT_WINDOW_SECONDS: number;
  PUBLISH_TAKEOVER: TakeoverPolicy;
  DVR_DEFAULT: boolean;
  RECONCILE_INTERVAL_MS: number;
  HLS_SEGMENT_SECONDS: number;
  HLS_LIST_SIZE: number;
  PLAYBACK_TOKEN_TTL_SECONDS: number;
  FFMPEG_PATH: string;
  INGEST_ALLOWED_HOSTS: string;
}

export function loadConfigFromEnv(env: NodeJS.ProcessEnv): Readonly<SrsAdapterConfig> {
  return loadConfig<SrsAdapterConfig>(configSchema, env, SECRETS);
}
