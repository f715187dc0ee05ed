import { BASE_SECRETS, Joi, baseEnvSchema, loadConfig } from '@castplane/config';
import type { BaseConfig } from '@castplane/config';
import { parseHostList } from '@castplane/http';

export const configSchema = baseEnvSchema.keys({
  ENCODER_API_PORT: Joi.number().port().default(9001),
  ENCODER_MONITORING_PORT: Joi.number().port().default(9002),
  /** Folder the outputs are written under; srs-adapter serves it at `/media/...`. */
  MEDIA_ROOT: Joi.string().min(1).default('.data/media'),
  /** Base URL of the media server's live streams: a key's default source is `<MEDIA_RTMP_URL>/<app>/<name>`. */
  MEDIA_RTMP_URL: Joi.string()
    .uri({ scheme: ['rtmp', 'rtmps'] })
    .default('rtmp://127.0.0.1:1935'),
  FFMPEG_PATH: Joi.string().min(1).default('ffmpeg'),
  FFPROBE_PATH: Joi.string().min(1).default('ffprobe'),
  /** When false this replica serves the APIs only and runs no transcode jobs. */
  ENCODER_WORKERS_ENABLED: Joi.boolean().default(true),
  /** Transcode jobs one replica runs at the same time (one ffmpeg process each). */
  ENCODER_WORKER_CONCURRENCY: Joi.number().integer().min(1).max(64).default(2),
  /** Attempts per job; sources that can never work fail on the first one. */
  ENCODER_JOB_ATTEMPTS: Joi.number().integer().min(1).max(20).default(3),
  ENCODER_JOB_BACKOFF_MS: Joi.number().integer().min(0).max(600000).default(2000),
  /** A job running longer than this is killed and failed; 0 disables the limit. */
  ENCODER_JOB_TIMEOUT_SECONDS: Joi.number().integer().min(0).max(7 * 24 * 3600).default(12 * 3600),
  /** Time between SIGTERM and SIGKILL when ffmpeg is stopped. */
  ENCODER_KILL_GRACE_MS: Joi.number().integer().min(100).max(60000).default(5000),
  /** BullMQ lock duration and stalled-job check interval: how fast a dead worker's job moves on. */
  ENCODER_LOCK_DURATION_MS: Joi.number().integer().min(1000).max(600000).default(30000),
  ENCODER_STALLED_INTERVAL_MS: Joi.number().integer().min(1000).max(600000).default(30000),
  ENCODER_MAX_UPLOAD_BYTES: Joi.number()
    .integer()
    .min(1024)
    .default(2 * 1024 * 1024 * 1024),
  /** Lines kept by the monitoring log buffer of one replica. */
  ENCODER_LOG_BUFFER_LINES: Joi.number().integer().min(10).max(100000).default(2000),
  /** Time allowed to ffprobe a source before the job fails. */
  ENCODER_PROBE_TIMEOUT_MS: Joi.number().integer().min(1000).max(120000).default(15000),
  /**
   * Hosts, IP addresses and CIDR ranges that config sources and RTMP pushes may reach,
   * comma-separated, or `*`. When empty, only loopback, link-local, cloud metadata, unspecified,
   * multicast and broadcast addresses are rejected. The host of MEDIA_RTMP_URL is always allowed.
   */
  ENCODER_ALLOWED_HOSTS: Joi.string()
    .allow('')
    .default('')
    .custom((value: string) => (parseHostList(value), value)),
});

export const SECRETS = [...BASE_SECRETS] as const;

export interface EncoderConfig extends BaseConfig {
  ENCODER_API_PORT: number;
  ENCODER_MONITORING_PORT: number;
  MEDIA_ROOT: string;
  MEDIA_RTMP_URL: string;
  FFMPEG_PATH: string;
  FFPROBE_PATH: string;
  ENCODER_WORKERS_ENABLED: boolean;
  ENCODER_WORKER_CONCURRENCY: number;
  ENCODER_JOB_ATTEMPTS: number;
  ENCODER_JOB_BACKOFF_MS: number;
  ENCODER_JOB_TIMEOUT_SECONDS: number;
  ENCODER_KILL_GRACE_MS: number;
  ENCODER_LOCK_DURATION_MS: number;
  ENCODER_STALLED_INTERVAL_MS: number;
  ENCODER_MAX_UPLOAD_BYTES: number;
  ENCODER_LOG_BUFFER_LINES: number;
  ENCODER_PROBE_TIMEOUT_MS: number;
  ENCODER_ALLOWED_HOSTS: string;
}

export function loadConfigFromEnv(env: NodeJS.ProcessEnv): Readonly<EncoderConfig> {
  return loadConfig<EncoderConfig>(configSchema, env, SECRETS);
}
