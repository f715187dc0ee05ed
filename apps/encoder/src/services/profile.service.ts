import type Redis from 'ioredis';

import { AppError, alreadyExists } from '@castplane/errors';

import type { Profile } from '../schemas/profile.schema';
import { DEFAULT_PROFILES } from '../schemas/profile.schema';
import type { EncoderKeys } from './redis-keys';

// Seeds once per deployment: a replica that finds the marker leaves deleted defaults deleted.
const SEED_SCRIPT = `
if redis.call('SET', KEYS[1], '1', 'NX') then
  for i = 1, #ARGV, 2 do redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i + 1]) end
  return 1
end
return 0`;

// Deletes a profile only while no config references it, in one step.
const DELETE_SCRIPT = `
if redis.call('SCARD', KEYS[2]) > 0 then return -1 end
return redis.call('HDEL', KEYS[1], ARGV[1])`;

/** Quality profiles stored in one Redis hash, id to JSON. */
export class ProfileService {
  constructor(
    private readonly redis: Redis,
    private readonly keys: EncoderKeys,
    /** Lists the profile ids used by queued or running jobs. */
    private readonly profilesInUse: () => Promise<Set<string>>,
  ) {}

  async seedDefaults(): Promise<boolean> {
    const args = DEFAULT_PROFILES.flatMap((profile) => [profile.id, JSON.stringify(profile)]);
    const seeded = await this.redis.eval(SEED_SCRIPT, 2, this.keys.profilesSeeded, this.keys.profiles, ...args);
    return seeded === 1;
  }

  async list(): Promise<Profile[]> {
    const all = await this.redis.hvals(this.keys.profiles);
    return all.map((json) => JSON.parse(json) as Profile).sort((a, b) => b.height - a.height || a.id.localeCompare(b.id));
  }

  async get(id: string): Promise<Profile> {
    const json = await this.redis.hget(this.keys.profiles, id);
    if (!json) throw profileNotFound(id);
    return JSON.parse(json) as Profile;
  }

  /** Returns the profiles in the order of `ids`, or fails naming every unknown id. */
  async resolve(ids: string[], field = 'body.profiles'): Promise<Profile[]> {
    if (ids.length === 0) return [];
    const found = await this.redis.hmget(this.keys.profiles, ...ids);
    const missing = ids.filter((_, index) => !found[index]);
    if (missing.length > 0) {
      throw new AppError('invalid_argument', `unknown profiles: ${missing.join(', ')}`, {
        details: missing.map((id) => ({ field, message: `profile "${id}" does not exist` })),
      });
    }
    return found.map((json) => JSON.parse(json as string) as Profile);
  }

  async create(profile: Profile): Promise<Profile> {
    const created = await this.redis.hsetnx(this.keys.profiles, profile.id, JSON.stringify(profile));
    if (created === 0) throw alreadyExists(`profile "${profile.id}" already exists`, 'body.id');
    return profile;
  }

  async update(id: string, fields: Omit<Profile, 'id'>): Promise<Profile> {
    await this.get(id);
    const profile = { ...fields, id };
    await this.redis.hset(this.keys.profiles, id, JSON.stringify(profile));
    return profile;
  }

  /** Creates or replaces a profile and reports whether anything changed. */
  async upsert(profile: Profile): Promise<{ from: Profile | null; changed: boolean }> {
    const previous = await this.redis.hget(this.keys.profiles, profile.id);
    const json = JSON.stringify(profile);
    if (previous === json) return { from: JSON.parse(previous) as Profile, changed: false };
    await this.redis.hset(this.keys.profiles, profile.id, json);
    return { from: previous ? (JSON.parse(previous) as Profile) : null, changed: true };
  }

  async delete(id: string): Promise<void> {
    if ((await this.profilesInUse()).has(id)) {
      throw new AppError('failed_precondition', `profile "${id}" is used by a queued or running job`, {
        reason: 'profile_in_use',
        details: [{ field: 'params.profileId', message: 'used by a job' }],
      });
    }
    const result = await this.redis.eval(DELETE_SCRIPT, 2, this.keys.profiles, this.keys.profileRefsPrefix + id, id);
    if (result === -1) {
      throw new AppError('failed_precondition', `profile "${id}" is used by a stream config`, {
        reason: 'profile_in_use',
        details: [{ field: 'params.profileId', message: 'used by a stream config' }],
      });
    }
    if (result === 0) throw profileNotFound(id);
  }
}

function profileNotFound(id: string): AppError {
  return new AppError('not_found', `profile "${id}" not found`, {
    details: [{ field: 'params.profileId', message: 'not found' }],
  });
}
