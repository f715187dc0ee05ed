import type Redis from 'ioredis';

import { Joi } from '@castplane/config';
import { AppError } from '@castplane/errors';

import type { Profile } from '../schemas/profile.schema';
import { profileCreateSchema } from '../schemas/profile.schema';
import type { ProfileService } from './profile.service';
import type { EncoderKeys } from './redis-keys';

export const DEFAULT_SEGMENT_SECONDS = 2;
export const DEFAULT_PLAYLIST_SIZE = 6;

const settingSchemas: Record<string, Joi.Schema> = {
  hlsSegmentSeconds: Joi.number().integer().min(1).max(30),
  hlsPlaylistSize: Joi.number().integer().min(2).max(100),
  profiles: Joi.array().items(profileCreateSchema).max(32),
};

type Changes = Record<string, { from: unknown; to: unknown }>;

/** Central settings pushed by config sync: HLS defaults and profile upserts. */
export class SettingsService {
  private profiles?: ProfileService;

  constructor(
    private readonly redis: Redis,
    private readonly keys: EncoderKeys,
  ) {}

  attachProfiles(profiles: ProfileService): void {
    this.profiles = profiles;
  }

  async segmentSeconds(): Promise<number> {
    return Number((await this.redis.hget(this.keys.settings, 'hlsSegmentSeconds')) ?? DEFAULT_SEGMENT_SECONDS);
  }

  async playlistSize(): Promise<number> {
    return Number((await this.redis.hget(this.keys.settings, 'hlsPlaylistSize')) ?? DEFAULT_PLAYLIST_SIZE);
  }

  /** Validates every known setting first, then applies them; unknown keys are returned as ignored. */
  async apply(settings: Record<string, unknown>): Promise<{ changed: Changes; ignored: string[] }> {
    const ignored = Object.keys(settings).filter((name) => !settingSchemas[name]);
    const valid = this.validate(settings);
    const changed: Changes = {};
    for (const [name, value] of Object.entries(valid)) {
      if (name === 'profiles') await this.applyProfiles(value as Profile[], changed);
      else await this.applyNumber(name, value as number, changed);
    }
    return { changed, ignored };
  }

  private validate(settings: Record<string, unknown>): Record<string, unknown> {
    const valid: Record<string, unknown> = {};
    const details: { field: string; message: string }[] = [];
    for (const [name, schema] of Object.entries(settingSchemas)) {
      if (settings[name] === undefined) continue;
      const { error, value } = schema.validate(settings[name], { abortEarly: false, errors: { wrap: { label: false } } });
      if (error) details.push(...error.details.map((detail) => ({ field: `settings.${[name, ...detail.path].join('.')}`, message: detail.message })));
      else valid[name] = value;
    }
    if (details.length > 0) throw new AppError('invalid_argument', 'invalid encoder settings', { details });
    return valid;
  }

  private async applyNumber(name: string, value: number, changed: Changes): Promise<void> {
    const previous = await this.redis.hget(this.keys.settings, name);
    if (previous !== null && Number(previous) === value) return;
    await this.redis.hset(this.keys.settings, name, String(value));
    changed[name] = { from: previous === null ? null : Number(previous), to: value };
  }

  private async applyProfiles(profiles: Profile[], changed: Changes): Promise<void> {
    for (const profile of profiles) {
      const result = await this.profiles!.upsert(profile);
      if (result.changed) changed[`profiles.${profile.id}`] = { from: result.from, to: profile };
    }
  }
}
