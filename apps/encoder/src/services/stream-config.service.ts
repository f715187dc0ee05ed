import { resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import type Redis from 'ioredis';

import { AppError } from '@castplane/errors';
import { checkOutboundUrl } from '@castplane/http';
import type { OutboundPolicy } from '@castplane/http';

import { isMediaServerSource } from '../jobs/source-token';
import type { Profile } from '../schemas/profile.schema';
import type { StreamConfig } from '../schemas/stream-config.schema';
import type { ProfileService } from './profile.service';
import type { EncoderKeys } from './redis-keys';
import { keyIdOf, streamField } from './redis-keys';
import type { SettingsService } from './settings.service';

// Writes a config, its app/name index and the profile references in one step. Fails without a
// write when a profile is missing, the mode does not match, or another key owns app/name.
const SAVE_SCRIPT = `
for i = 6, #ARGV do
  if redis.call('HEXISTS', KEYS[3], ARGV[i]) == 0 then return {'missing_profile', ARGV[i]} end
end
local old = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[5] == 'create' and old then return {'exists'} end
if ARGV[5] == 'update' and not old then return {'not_found'} end
local owner = redis.call('HGET', KEYS[2], ARGV[3])
if owner and owner ~= ARGV[1] then return {'stream_taken'} end
if old then
  local previous = cjson.decode(old)
  for _, id in ipairs(previous.profiles) do redis.call('SREM', ARGV[4] .. id, ARGV[1]) end
  local field = previous.app .. '/' .. previous.name
  if field ~= ARGV[3] then redis.call('HDEL', KEYS[2], field) end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])
for i = 6, #ARGV do redis.call('SADD', ARGV[4] .. ARGV[i], ARGV[1]) end
return {'ok'}`;

const DELETE_SCRIPT = `
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return 0 end
local previous = cjson.decode(old)
for _, id in ipairs(previous.profiles) do redis.call('SREM', ARGV[2] .. id, ARGV[1]) end
redis.call('HDEL', KEYS[2], previous.app .. '/' .. previous.name)
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
return 1`;

export type ConfigInput = Omit<StreamConfig, 'keyId' | 'createdAt' | 'updatedAt' | 'hls'> & {
  hls: Partial<StreamConfig['hls']>;
};

type SaveMode = 'create' | 'update' | 'upsert';

/** Per-stream-key encoding configs, stored under the key's id so the key never names a Redis key. */
export class StreamConfigService {
  constructor(
    private readonly redis: Redis,
    private readonly keys: EncoderKeys,
    private readonly profiles: ProfileService,
    private readonly settings: SettingsService,
    private readonly mediaRoot: string,
    /** The outbound policy, and the media server (MEDIA_RTMP_URL), whose streams are always allowed. */
    private readonly outbound: { policy: OutboundPolicy; mediaServer: string },
  ) {}

  async create(input: ConfigInput): Promise<StreamConfig> {
    return this.save(input, 'create');
  }

  async update(streamKey: string, input: Omit<ConfigInput, 'streamKey'>): Promise<StreamConfig> {
    return this.save({ ...input, streamKey }, 'update');
  }

  async upsert(input: ConfigInput): Promise<StreamConfig> {
    return this.save(input, 'upsert');
  }

  async get(streamKey: string): Promise<StreamConfig> {
    const config = await this.findByKeyId(keyIdOf(streamKey));
    if (!config) throw configNotFound();
    return config;
  }

  async findByKeyId(keyId: string): Promise<StreamConfig | undefined> {
    const json = await this.redis.hget(this.keys.configs, keyId);
    return json ? (JSON.parse(json) as StreamConfig) : undefined;
  }

  async findByStream(app: string, name: string): Promise<StreamConfig | undefined> {
    const keyId = await this.redis.hget(this.keys.streams, streamField(app, name));
    return keyId ? this.findByKeyId(keyId) : undefined;
  }

  async delete(streamKey: string): Promise<StreamConfig> {
    const config = await this.get(streamKey);
    await this.redis.eval(DELETE_SCRIPT, 3, this.keys.configs, this.keys.streams, this.keys.armed, config.keyId, this.keys.profileRefsPrefix);
    return config;
  }

  /** Resolves a config's ladder, highest rendition first as the master playlist lists it. */
  async ladder(config: StreamConfig): Promise<Profile[]> {
    const profiles = await this.profiles.resolve(config.profiles);
    return profiles.sort((a, b) => b.height - a.height);
  }

  private async save(input: ConfigInput, mode: SaveMode): Promise<StreamConfig> {
    const ladder = await this.profiles.resolve(input.profiles);
    checkConsistency(input, ladder);
    this.checkSource(input.source);
    await this.checkOutbound(input);
    const keyId = keyIdOf(input.streamKey);
    const existing = await this.findByKeyId(keyId);
    const now = new Date().toISOString();
    const config: StreamConfig = {
      ...input,
      keyId,
      hls: {
        segmentSeconds: input.hls.segmentSeconds ?? (await this.settings.segmentSeconds()),
        playlistSize: input.hls.playlistSize ?? (await this.settings.playlistSize()),
      },
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    const field = streamField(config.app, config.name);
    const args = [keyId, JSON.stringify(config), field, this.keys.profileRefsPrefix, mode, ...config.profiles];
    const [status, detail] = (await this.redis.eval(SAVE_SCRIPT, 3, this.keys.configs, this.keys.streams, this.keys.profiles, ...args)) as string[];
    throwSaveError(status, detail);
    return config;
  }

  // File sources are limited to the media root so the API cannot read arbitrary server files.
  private checkSource(source: string | undefined): void {
    if (!source?.startsWith('file:')) return;
    const path = resolve(fileURLToPath(source));
    if (!path.startsWith(resolve(this.mediaRoot) + sep)) {
      throw new AppError('invalid_argument', 'a file source must be inside the media root', {
        details: [{ field: 'body.source', message: 'must be a file URL inside the media root' }],
      });
    }
  }

  // NOTE: ffmpeg resolves each host again when it connects, so a DNS answer that changes after
  // this check (DNS rebinding) is not caught, and neither are HTTP redirects or HLS segment URLs.
  private async checkOutbound(input: ConfigInput): Promise<void> {
    if (input.source && !input.source.startsWith('file:')) {
      await this.checkUrl(input.source, 'body.source');
    }
    for (const [index, push] of input.outputs.rtmpPush.entries()) {
      await this.checkUrl(push.url, `body.outputs.rtmpPush.${index}.url`);
    }
  }

  private async checkUrl(url: string, field: string): Promise<void> {
    if (isMediaServerSource(url, this.outbound.mediaServer)) return;
    await checkOutboundUrl(url, this.outbound.policy, { field });
  }
}

function checkConsistency(input: ConfigInput, ladder: Profile[]): void {
  const pushOutside = input.outputs.rtmpPush.filter((push) => !input.profiles.includes(push.profileId));
  if (pushOutside.length > 0) {
    throw new AppError('invalid_argument', 'RTMP push names a profile that is not in the ladder', {
      details: pushOutside.map((push) => ({ field: 'body.outputs.rtmpPush', message: `profile "${push.profileId}" is not in profiles` })),
    });
  }
  const above = input.publish ? ladder.filter((profile) => profile.height > input.publish!.height) : [];
  if (above.length > 0) {
    throw new AppError('unprocessable_entity', 'the ladder has renditions above the source resolution', {
      details: above.map((profile) => ({
        field: 'body.profiles',
        message: `profile "${profile.id}" (${profile.height}p) is above the published ${input.publish!.height}p`,
      })),
    });
  }
}

function throwSaveError(status: string, detail: string | undefined): void {
  switch (status) {
    case 'ok':
      return;
    case 'missing_profile':
      throw new AppError('invalid_argument', `unknown profiles: ${detail}`, {
        details: [{ field: 'body.profiles', message: `profile "${detail}" does not exist` }],
      });
    case 'exists':
      throw new AppError('already_exists', 'a config for this stream key already exists', {
        details: [{ field: 'body.streamKey', message: 'already has a config' }],
      });
    case 'not_found':
      throw configNotFound();
    default:
      throw new AppError('already_exists', 'another stream key is configured for this app and name', {
        details: [{ field: 'body.name', message: 'already configured for another stream key' }],
      });
  }
}

/** Builds the not-found error without the key: the message and details only name the field. */
export function configNotFound(): AppError {
  return new AppError('not_found', 'no config exists for this stream key', {
    details: [{ field: 'streamKey', message: 'no config for this stream key' }],
  });
}
