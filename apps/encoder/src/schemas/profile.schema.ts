import { Joi } from '@castplane/config';

export const H264_PROFILES = ['baseline', 'main', 'high'] as const;
export const X264_PRESETS = [
  'ultrafast',
  'superfast',
  'veryfast',
  'faster',
  'fast',
  'medium',
  'slow',
  'slower',
  'veryslow',
] as const;

/** One rendition of a ladder. Bitrates are in kbit/s, the keyframe interval in seconds. */
export interface Profile {
  id: string;
  name: string;
  width: number;
  height: number;
  fps: number;
  videoBitrateKbps: number;
  maxrateKbps: number;
  bufsizeKbps: number;
  keyframeIntervalSeconds: number;
  codec: 'h264';
  h264Profile: (typeof H264_PROFILES)[number];
  preset: (typeof X264_PRESETS)[number];
  audioBitrateKbps: number;
}

export const PROFILE_ID = Joi.string()
  .pattern(/^[a-z0-9][a-z0-9_-]{0,31}$/)
  .messages({ 'string.pattern.base': 'must be 1-32 lowercase letters, digits, "-" or "_"' });

const even = (value: number, helpers: Joi.CustomHelpers) =>
  value % 2 === 0 ? value : helpers.message({ custom: 'must be an even number' });

const profileFields = {
  name: Joi.string().trim().min(1).max(64).required(),
  width: Joi.number().integer().min(16).max(7680).custom(even).required(),
  height: Joi.number().integer().min(16).max(4320).custom(even).required(),
  fps: Joi.number().min(1).max(120).required(),
  videoBitrateKbps: Joi.number().integer().min(50).max(100000).required(),
  maxrateKbps: Joi.number().integer().min(Joi.ref('videoBitrateKbps')).max(150000).required(),
  bufsizeKbps: Joi.number().integer().min(50).max(300000).required(),
  keyframeIntervalSeconds: Joi.number().min(0.5).max(10).default(2),
  codec: Joi.string().valid('h264').default('h264'),
  h264Profile: Joi.string()
    .valid(...H264_PROFILES)
    .default('main'),
  preset: Joi.string()
    .valid(...X264_PRESETS)
    .default('veryfast'),
  audioBitrateKbps: Joi.number().integer().min(32).max(320).default(128),
};

export const profileCreateSchema = Joi.object({ id: PROFILE_ID.required(), ...profileFields });
export const profileUpdateSchema = Joi.object(profileFields);
export const profileIdParams = Joi.object({ profileId: PROFILE_ID.required() });

function profile(
  id: string,
  width: number,
  height: number,
  videoBitrateKbps: number,
  audioBitrateKbps: number,
  h264Profile: Profile['h264Profile'],
): Profile {
  return {
    id,
    name: `${height}p`,
    width,
    height,
    fps: 30,
    videoBitrateKbps,
    maxrateKbps: Math.round(videoBitrateKbps * 1.07),
    bufsizeKbps: Math.round(videoBitrateKbps * 1.5),
    keyframeIntervalSeconds: 2,
    codec: 'h264',
    h264Profile,
    preset: 'veryfast',
    audioBitrateKbps,
  };
}

/** The ladder seeded at first start, with bitrates close to common HLS authoring guidance. */
export const DEFAULT_PROFILES: Profile[] = [
  profile('1080p', 1920, 1080, 5000, 192, 'high'),
  profile('720p', 1280, 720, 2800, 128, 'high'),
  profile('480p', 854, 480, 1400, 128, 'main'),
  profile('360p', 640, 360, 800, 96, 'main'),
  profile('240p', 426, 240, 400, 64, 'baseline'),
];
