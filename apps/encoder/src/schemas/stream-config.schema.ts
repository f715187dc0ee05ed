import { Joi } from '@castplane/config';

import { PROFILE_ID } from './profile.schema';

/** Settings a broadcaster should use, for example a phone app configuring its own encoder. */
export interface PublishSettings {
  width: number;
  height: number;
  fps: number;
  videoBitrateKbps: number;
  keyframeIntervalSeconds: number;
  videoCodec: 'h264';
  audioBitrateKbps: number;
  audioSampleRate: number;
}

export interface RtmpPush {
  profileId: string;
  url: string;
}

/** Per-key encoding configuration. `streamKey` is secret and never leaves the record except to its owner. */
export interface StreamConfig {
  keyId: string;
  streamKey: string;
  app: string;
  name: string;
  /** Input of the pipeline, or the live stream on the media server when unset. */
  source?: string;
  profiles: string[];
  outputs: { hls: boolean; record: boolean; rtmpPush: RtmpPush[] };
  hls: { segmentSeconds: number; playlistSize: number };
  publish?: PublishSettings;
  createdAt: string;
  updatedAt: string;
}

export const STREAM_KEY = Joi.string()
  .min(4)
  .max(256)
  .pattern(/^[\x21-\x7e]+$/)
  .messages({ 'string.pattern.base': 'must be printable ASCII without spaces' });

const STREAM_PART = Joi.string().pattern(/^[A-Za-z0-9_.-]{1,128}$/);

const publishSchema = Joi.object({
  width: Joi.number().integer().min(16).max(7680).required(),
  height: Joi.number().integer().min(16).max(4320).required(),
  fps: Joi.number().min(1).max(120).default(30),
  videoBitrateKbps: Joi.number().integer().min(50).max(100000).required(),
  keyframeIntervalSeconds: Joi.number().min(0.5).max(10).default(2),
  videoCodec: Joi.string().valid('h264').default('h264'),
  audioBitrateKbps: Joi.number().integer().min(32).max(320).default(128),
  audioSampleRate: Joi.number().valid(44100, 48000).default(44100),
});

const configFields = {
  app: STREAM_PART.default('live'),
  name: STREAM_PART.required(),
  source: Joi.string()
    .max(2048)
    .uri({ scheme: ['rtmp', 'rtmps', 'srt', 'http', 'https', 'file'] }),
  profiles: Joi.array().items(PROFILE_ID).min(1).max(8).unique().required(),
  outputs: Joi.object({
    hls: Joi.boolean().valid(true).default(true),
    record: Joi.boolean().default(false),
    rtmpPush: Joi.array()
      .items(
        Joi.object({
          profileId: PROFILE_ID.required(),
          url: Joi.string()
            .max(2048)
            .uri({ scheme: ['rtmp', 'rtmps'] })
            .required(),
        }),
      )
      .max(8)
      .default([]),
  }).default(),
  hls: Joi.object({
    segmentSeconds: Joi.number().integer().min(1).max(30),
    playlistSize: Joi.number().integer().min(2).max(100),
  }).default(),
  publish: publishSchema,
};

export const configCreateSchema = Joi.object({ streamKey: STREAM_KEY.required(), ...configFields });
export const configUpdateSchema = Joi.object(configFields);
export const streamKeyParams = Joi.object({ streamKey: Joi.string().min(1).max(256).required() });
export const streamKeyBody = Joi.object({ streamKey: STREAM_KEY.required() });
