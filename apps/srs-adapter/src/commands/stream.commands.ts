import type { CommandHandlers } from '@castplane/redis';
import { AppError } from '@castplane/errors';

import { createStreamBody } from '../schemas/stream.schemas';
import type { SourceIngest } from '../services/source-ingest';
import type { StreamDefaults, StreamService } from '../services/stream.service';

const SETTINGS = {
  reconnectWindowSeconds: (value: unknown) => Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 3600,
  dvr: (value: unknown) => typeof value === 'boolean',
  takeover: (value: unknown) => value === 'reject' || value === 'kick',
} as const;

/** Applies the settings this service supports and returns unknown keys as ignored. */
export function applySettings(defaults: StreamDefaults, settings: Record<string, unknown>) {
  const changed: Record<string, { from: unknown; to: unknown }> = {};
  const ignored: string[] = [];
  const invalid = Object.entries(settings).filter(([name, value]) => name in SETTINGS && !SETTINGS[name as keyof typeof SETTINGS](value));
  if (invalid.length > 0) {
    throw new AppError('invalid_argument', `invalid settings: ${invalid.map(([name]) => name).join(', ')}`, {
      details: invalid.map(([name]) => ({ field: `settings.${name}`, message: 'invalid value' })),
    });
  }
  for (const [name, value] of Object.entries(settings)) {
    if (!(name in SETTINGS)) {
      ignored.push(name);
      continue;
    }
    const key = name as keyof StreamDefaults;
    if (defaults[key] !== value) changed[name] = { from: defaults[key], to: value };
    (defaults as unknown as Record<string, unknown>)[key] = value;
  }
  return { changed, ignored };
}

/** Builds the srs-adapter command handlers, which call the same service code as the REST routes. */
export function streamCommands(streams: StreamService, ingest: SourceIngest, defaults: StreamDefaults): CommandHandlers<'srs-adapter'> {
  return {
    'stream.create': async (payload) => {
      const { error, value } = createStreamBody.validate(payload, { abortEarly: false });
      if (error) throw new AppError('invalid_argument', error.message, { details: error.details.map((item) => ({ field: item.path.join('.'), message: item.message })) });
      const { stream: _view, ...created } = await streams.create(value);
      return created;
    },
    'stream.unpublish': async ({ streamId }) => {
      await ingest.stop(streamId);
      const result = await streams.unpublish(streamId);
      return { streamId, kicked: result.kicked };
    },
    'stream.delete': async ({ streamId }) => {
      await ingest.stop(streamId);
      return streams.delete(streamId);
    },
    'stream.get': async ({ streamId }) => {
      const stream = await streams.get(streamId);
      return { streamId, state: stream.state };
    },
    'config.apply': async ({ settings }) => applySettings(defaults, settings ?? {}),
  };
}
