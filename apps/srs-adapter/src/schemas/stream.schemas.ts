import Joi from 'joi';

/**
 * Stream and app names: letters, digits, `.`, `_`, `-`, with no path separators. No leading dot,
 * because the media listeners never serve dot-files (a `.hidden` stream's HLS segments would 404).
 */
export const NAME_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

const name = Joi.string().pattern(NAME_PATTERN).messages({
  'string.pattern.base': 'must be 1-128 letters, digits, ".", "_" or "-", not starting with a dot',
});

export const streamIdParams = Joi.object({
  streamId: Joi.string().pattern(/^st_[A-Za-z0-9_-]{8,64}$/).required(),
});

export const createStreamBody = Joi.object({
  name: name.required(),
  app: name.default('live'),
  requestId: Joi.string().max(128),
  dvr: Joi.boolean(),
  playback: Joi.string().valid('public', 'signed').default('public'),
  reconnectWindowSeconds: Joi.number().integer().min(0).max(3600),
  metadata: Joi.object().pattern(Joi.string().max(64), Joi.string().max(1024).allow('')).max(32).default({}),
});

export const listStreamsQuery = Joi.object({
  state: Joi.string().valid('idle', 'live', 'reconnecting'),
  offset: Joi.number().integer().min(0).default(0),
  limit: Joi.number().integer().min(1).max(200).default(50),
});

/** A source to pull and publish: a media URL, or a file path relative to MEDIA_ROOT. */
export const publishBody = Joi.object({
  source: Joi.alternatives().try(
    Joi.string().max(2048).uri({ scheme: ['rtmp', 'rtmps', 'rtsp', 'http', 'https', 'srt'] }),
    Joi.string().pattern(/^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._/-]{1,512}$/),
  ),
  loop: Joi.boolean().default(false),
  transcode: Joi.boolean().default(false),
}).default({});

export const unpublishBody = Joi.object({
  disable: Joi.boolean().default(false),
}).default({});

export const playbackTokenBody = Joi.object({
  ttlSeconds: Joi.number().integer().min(10).max(7 * 86400),
}).default({});
