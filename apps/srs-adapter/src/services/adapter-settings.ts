import { AppError } from '@castplane/errors';
import type { Logger } from '@castplane/logging';
import type { Redis } from '@castplane/redis';

import type { StreamDefaults } from './stream.service';

const VALIDATORS: Record<keyof StreamDefaults, (value: unknown) => boolean> = {
  reconnectWindowSeconds: (value) => Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 3600,
  dvr: (value) => typeof value === 'boolean',
  takeover: (value) => value === 'reject' || value === 'kick',
};

const RELOAD_INTERVAL_MS = 5000;

function isSetting(name: string): name is keyof StreamDefaults {
  return Object.hasOwn(VALIDATORS, name);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Stream defaults changed by `config.apply`. They are stored in one Redis hash, one field per
 * setting, so they survive a restart and reach every replica on its next reload.
 */
export class AdapterSettings {
  private timer?: NodeJS.Timeout;

  constructor(private readonly deps: { redis: Redis; keyPrefix: string; defaults: StreamDefaults; logger: Logger }) {}

  private get key(): string {
    return `${this.deps.keyPrefix}:srs:settings`;
  }

  /** Applies the stored settings over the environment's defaults. Invalid stored values are skipped. */
  async load(): Promise<void> {
    const stored = await this.deps.redis.hgetall(this.key);
    for (const [name, text] of Object.entries(stored)) {
      const value = parseJson(text);
      if (!isSetting(name) || !VALIDATORS[name](value)) {
        this.deps.logger.warn('stored setting ignored: invalid value', { setting: name });
        continue;
      }
      (this.deps.defaults as unknown as Record<string, unknown>)[name] = value;
    }
  }

  start(): void {
    this.timer = setInterval(() => {
      this.load().catch((error: Error) => this.deps.logger.warn('settings reload failed', { err: error.message }));
    }, RELOAD_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Validates, stores and applies the known settings, and returns unknown keys as ignored. */
  async apply(settings: Record<string, unknown>) {
    const invalid = Object.entries(settings).filter(([name, value]) => isSetting(name) && !VALIDATORS[name](value));
    if (invalid.length > 0) {
      throw new AppError('invalid_argument', `invalid settings: ${invalid.map(([name]) => name).join(', ')}`, {
        details: invalid.map(([name]) => ({ field: `settings.${name}`, message: 'invalid value' })),
      });
    }
    const known = Object.entries(settings).filter(([name]) => isSetting(name)) as [keyof StreamDefaults, unknown][];
    const ignored = Object.keys(settings).filter((name) => !isSetting(name));
    const changed: Record<string, { from: unknown; to: unknown }> = {};
    for (const [name, value] of known) {
      if (this.deps.defaults[name] !== value) changed[name] = { from: this.deps.defaults[name], to: value };
    }
    if (known.length > 0) {
      await this.deps.redis.hset(this.key, Object.fromEntries(known.map(([name, value]) => [name, JSON.stringify(value)])));
    }
    for (const [name, value] of known) (this.deps.defaults as unknown as Record<string, unknown>)[name] = value;
    return { changed, ignored };
  }
}
