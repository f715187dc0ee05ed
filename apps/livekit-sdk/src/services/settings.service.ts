import { AppError, invalidArgument } from '@castplane/errors';
import { checkOutboundUrl, parseHostList } from '@castplane/http';
import type { Logger } from '@castplane/logging';
import type { Redis } from '@castplane/redis';

import type { LivekitTarget } from '../clients/livekit.client';
import type { SecretBox } from './secret-box';

export interface RoomDefaults {
  emptyTimeout: number;
  departureTimeout: number;
  maxParticipants: number;
}

/** Runtime settings: environment defaults overlaid with what `PUT /config` stored in Redis. */
export interface Settings {
  livekitUrl: string;
  apiKey: string;
  /** Write-only: never returned by {@link SettingsService.view}. */
  apiSecret: string;
  defaultTokenTtlSeconds: number;
  defaultRoom: RoomDefaults;
  webhook: { clockToleranceSeconds: number; acceptedEvents: string[] };
}

export type SettingsPatch = Partial<Omit<Settings, 'defaultRoom' | 'webhook'>> & {
  defaultRoom?: Partial<RoomDefaults>;
  webhook?: Partial<Settings['webhook']>;
};

/** The patch as stored in Redis, with the API secret only in sealed form. */
type StoredPatch = Omit<SettingsPatch, 'apiSecret'> & { apiSecretSealed?: string; apiSecret?: string };

const RELOAD_INTERVAL_MS = 5000;

const LIVEKIT_URL_POLICY = { allowList: parseHostList('*') };

/**
 * Holds the effective settings in memory for synchronous reads (every SDK call needs the target)
 * and reloads them from Redis every few seconds, so a change made on one replica reaches the
 * others.
 */
export class SettingsService {
  private stored: SettingsPatch = {};
  private updatedAt?: string;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly deps: { redis: Redis; keyPrefix: string; defaults: Settings; logger: Logger; secretBox?: SecretBox },
  ) {}

  private get key(): string {
    return `${this.deps.keyPrefix}:lksdk:settings`;
  }

  async start(): Promise<void> {
    await this.reload();
    this.timer = setInterval(() => {
      this.reload().catch((error: unknown) => {
        const reason = error instanceof Error ? error.message : String(error);
        this.deps.logger.warn('settings reload failed', { err: reason });
      });
    }, RELOAD_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async reload(): Promise<void> {
    const raw = await this.deps.redis.get(this.key);
    const parsed = raw ? (JSON.parse(raw) as { settings: StoredPatch; updatedAt: string }) : undefined;
    this.stored = this.unseal(parsed?.settings ?? {});
    this.updatedAt = parsed?.updatedAt;
  }

  /**
   * Decrypts the stored API secret. A secret that cannot be decrypted (no key, or another key)
   * is dropped, so the secret from the environment applies.
   */
  private unseal(stored: StoredPatch): SettingsPatch {
    const { apiSecretSealed, ...patch } = stored;
    if (!apiSecretSealed) return patch;
    try {
      if (!this.deps.secretBox) throw new Error('SDK_SETTINGS_ENCRYPTION_KEY is not set');
      return { ...patch, apiSecret: this.deps.secretBox.open(apiSecretSealed) };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.deps.logger.warn('stored LiveKit API secret cannot be decrypted, using LIVEKIT_API_SECRET', { err: reason });
      return patch;
    }
  }

  private seal(patch: SettingsPatch): StoredPatch {
    const { apiSecret, ...rest } = patch;
    if (apiSecret === undefined) return rest;
    if (!this.deps.secretBox) throw secretKeyMissing();
    return { ...rest, apiSecretSealed: this.deps.secretBox.seal(apiSecret) };
  }

  current(): Settings {
    const { defaults } = this.deps;
    return {
      ...defaults,
      ...withoutNested(this.stored),
      defaultRoom: { ...defaults.defaultRoom, ...this.stored.defaultRoom },
      webhook: { ...defaults.webhook, ...this.stored.webhook },
    };
  }

  target(): LivekitTarget {
    const settings = this.current();
    return { url: settings.livekitUrl, apiKey: settings.apiKey, apiSecret: settings.apiSecret };
  }

  /** The settings without the secret, as `GET /config` returns them. */
  view() {
    const { apiSecret, ...shown } = this.current();
    return { ...shown, apiSecretSet: apiSecret.length > 0, updatedAt: this.updatedAt ?? null };
  }

  /** Merges `patch` into the stored settings and returns each changed key with its old and new value. */
  async update(patch: SettingsPatch): Promise<Record<string, { from: unknown; to: unknown }>> {
    if (patch.apiSecret !== undefined && !this.deps.secretBox) throw secretKeyMissing();
    // Every SDK call sends a signed admin token to this URL, so cloud metadata and link-local
    // addresses are refused. Loopback and private hosts stay allowed for a local LiveKit.
    if (patch.livekitUrl !== undefined) await checkOutboundUrl(patch.livekitUrl, LIVEKIT_URL_POLICY, { field: 'body.livekitUrl' });
    const before = flatten(this.current());
    const merged: SettingsPatch = {
      ...this.stored,
      ...withoutNested(patch),
      defaultRoom: { ...this.stored.defaultRoom, ...patch.defaultRoom },
      webhook: { ...this.stored.webhook, ...patch.webhook },
    };
    const updatedAt = new Date().toISOString();
    await this.deps.redis.set(this.key, JSON.stringify({ settings: this.seal(merged), updatedAt }));
    this.stored = merged;
    this.updatedAt = updatedAt;
    const after = flatten(this.current());
    const changed: Record<string, { from: unknown; to: unknown }> = {};
    for (const [name, value] of Object.entries(after)) {
      if (JSON.stringify(before[name]) === JSON.stringify(value)) continue;
      // The secret is write-only, so its change is reported without either value.
      changed[name] = name === 'apiSecret' ? { from: '[set]', to: '[set]' } : { from: before[name], to: value };
    }
    this.deps.logger.info('settings updated', { changed: Object.keys(changed) });
    return changed;
  }
}

function secretKeyMissing(): AppError {
  return new AppError('failed_precondition', 'apiSecret cannot be stored: set SDK_SETTINGS_ENCRYPTION_KEY on livekit-sdk first', {
    details: [{ field: 'body.apiSecret', message: 'cannot be stored without SDK_SETTINGS_ENCRYPTION_KEY' }],
  });
}

function withoutNested(patch: SettingsPatch): Omit<SettingsPatch, 'defaultRoom' | 'webhook'> {
  const { defaultRoom: _room, webhook: _webhook, ...rest } = patch;
  return rest;
}

function flatten(settings: Settings): Record<string, unknown> {
  const { defaultRoom, webhook, ...rest } = settings;
  const flat: Record<string, unknown> = { ...rest };
  for (const [name, value] of Object.entries(defaultRoom)) flat[`defaultRoom.${name}`] = value;
  for (const [name, value] of Object.entries(webhook)) flat[`webhook.${name}`] = value;
  return flat;
}

/** Converts a joi failure on settings to an `invalid_argument` error naming each field. */
export function invalidSettings(error: { details: { path: (string | number)[]; message: string }[] }) {
  const details = error.details.map((detail) => ({
    field: `settings.${detail.path.join('.')}`,
    message: detail.message,
  }));
  return invalidArgument(`invalid settings: ${details.map((detail) => detail.field).join(', ')}`, details);
}
