import Joi from 'joi';

import { AppError } from '@castplane/errors';
import type { Logger } from '@castplane/logging';
import type { Redis } from '@castplane/redis';

import type { RoomService } from './room.service';

/** Settings the orchestrator's config sync may change at run time, with their checks. */
const SETTINGS = Joi.object({
  emptyTimeout: Joi.number().integer().min(1).max(86400),
  departureTimeout: Joi.number().integer().min(0).max(86400),
  maxParticipants: Joi.number().integer().min(0).max(100000),
  duplicateIdentity: Joi.string().valid('replace', 'reject'),
});

export type RuntimeSettings = { emptyTimeout: number; departureTimeout: number; maxParticipants: number; duplicateIdentity: 'replace' | 'reject' };

/**
 * Run-time settings shared by every replica: `config.apply` stores them in Redis, and each replica
 * reloads them on its sweeper tick. Until then they start from the environment.
 */
export class SettingsService {
  private current: RuntimeSettings;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly rooms: RoomService,
    private readonly logger: Logger,
    initial: RuntimeSettings,
  ) {
    this.current = { ...initial };
  }

  get duplicateIdentity(): 'replace' | 'reject' {
    return this.current.duplicateIdentity;
  }

  async apply(settings: Record<string, unknown>) {
    const known = Object.keys(SETTINGS.describe().keys as object);
    const ignored = Object.keys(settings).filter((name) => !known.includes(name));
    const relevant = Object.fromEntries(Object.entries(settings).filter(([name]) => known.includes(name)));
    const { error, value } = SETTINGS.validate(relevant, { abortEarly: false, errors: { wrap: { label: false } } });
    if (error) {
      throw new AppError('invalid_argument', `invalid settings: ${error.message}`, {
        details: error.details.map((detail) => ({ field: `settings.${detail.path.join('.')}`, message: detail.message })),
      });
    }
    const changed: Record<string, { from: unknown; to: unknown }> = {};
    for (const [name, to] of Object.entries(value as Record<string, unknown>)) {
      const from = this.current[name as keyof RuntimeSettings];
      if (from !== to) changed[name] = { from, to };
    }
    if (Object.keys(changed).length > 0) {
      await this.redis.set(this.key, JSON.stringify({ ...this.current, ...value }));
      this.use({ ...this.current, ...value });
      this.logger.info('settings applied', { changed: Object.keys(changed) });
    }
    return { changed, ignored };
  }

  async reload(): Promise<void> {
    const stored = await this.redis.get(this.key);
    if (stored) this.use({ ...this.current, ...(JSON.parse(stored) as Partial<RuntimeSettings>) });
  }

  private use(settings: RuntimeSettings): void {
    this.current = settings;
    this.rooms.setDefaults({
      emptyTimeout: settings.emptyTimeout,
      departureTimeout: settings.departureTimeout,
      maxParticipants: settings.maxParticipants,
    });
  }
}
