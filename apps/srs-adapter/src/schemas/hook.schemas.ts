import Joi from 'joi';

/** An SRS HTTP callback body (snake_case as SRS sends it). Unknown fields are kept and ignored. */
export interface SrsHookBody {
  action: string;
  client_id: string;
  ip?: string;
  vhost?: string;
  app: string;
  stream: string;
  param: string;
  tcUrl?: string;
  stream_url?: string;
  stream_id?: string;
  server_id?: string;
  service_id?: string;
  file?: string;
  cwd?: string;
  duration?: number;
  /** Protocol of a play, set only by the embedded ingest. SRS sends none, so it is derived from other fields. */
  protocol?: 'rtmp' | 'flv' | 'hls';
}

const id = Joi.string().max(128);

export const hookBodySchema = Joi.object<SrsHookBody>({
  action: Joi.string().max(32).required(),
  client_id: Joi.string().pattern(/^[A-Za-z0-9_.-]{1,64}$/).required(),
  ip: Joi.string().max(64).allow(''),
  vhost: Joi.string().max(256).allow(''),
  app: Joi.string().max(256).required(),
  stream: Joi.string().max(256).required(),
  param: Joi.string().max(4096).allow('').default(''),
  tcUrl: Joi.string().max(2048).allow(''),
  stream_url: Joi.string().max(1024).allow(''),
  stream_id: id.allow(''),
  server_id: id.allow(''),
  service_id: id.allow(''),
  file: Joi.string().max(4096).allow(''),
  cwd: Joi.string().max(4096).allow(''),
  duration: Joi.number().min(0),
  protocol: Joi.string().valid('rtmp', 'flv', 'hls'),
}).unknown(true);

export const hookQuerySchema = Joi.object({
  secret: Joi.string().max(512),
}).unknown(true);

export const HOOK_ACTIONS = ['on_publish', 'on_unpublish', 'on_play', 'on_stop', 'on_dvr', 'on_hls'] as const;
export type HookAction = (typeof HOOK_ACTIONS)[number];
