import { Joi } from '@castplane/config';

const streamName = Joi.string().pattern(/^[A-Za-z0-9_-]{1,64}$/).messages({ 'string.pattern.base': 'must be 1-64 letters, digits, "_" or "-"' });
const appName = Joi.string().pattern(/^[A-Za-z0-9_-]{1,32}$/).messages({ 'string.pattern.base': 'must be 1-32 letters, digits, "_" or "-"' });
const profile = Joi.string().pattern(/^[A-Za-z0-9_-]{1,32}$/);
const identity = Joi.string().min(1).max(128).pattern(/^[^\s]+$/);
export const orchestrationId = Joi.string().pattern(/^orc_[0-9a-f]{16}$/).messages({ 'string.pattern.base': 'must be an orchestration id (orc_ and 16 hex digits)' });

/** Idempotency-Key header values: printable, no spaces, at most 128 characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

export function startBodySchema(defaultProfiles: string[]) {
  return Joi.object({
    name: streamName.required(),
    title: Joi.string().min(1).max(200),
    app: appName.default('live'),
    profiles: Joi.array().items(profile).min(1).max(8).unique().default(defaultProfiles),
    record: Joi.boolean().default(false),
    hostIdentity: identity.default('host'),
    room: Joi.object({
      name: streamName,
      emptyTimeout: Joi.number().integer().min(0).max(86400),
      maxParticipants: Joi.number().integer().min(1).max(10000),
      metadata: Joi.string().max(4096),
    }).default({}),
  });
}

export const startQuerySchema = Joi.object({
  wait: Joi.boolean().default(false),
  timeoutMs: Joi.number().integer().min(100).max(600000),
});

export const idBodySchema = Joi.object({ id: orchestrationId.required() });

export const statusQuerySchema = Joi.object({
  id: orchestrationId,
  limit: Joi.number().integer().min(1).max(500).default(50),
  offset: Joi.number().integer().min(0).max(1_000_000).default(0),
});

export const tokenBodySchema = Joi.object({
  id: orchestrationId.required(),
  identity: identity.required(),
  role: Joi.string().valid('host', 'viewer').default('viewer'),
  ttlSeconds: Joi.number().integer().min(60).max(86400),
});

export const coordinationSrsSchema = Joi.object({
  name: streamName.required(),
  app: appName.default('live'),
  dvr: Joi.boolean().default(false),
  requestId: Joi.string().pattern(/^[A-Za-z0-9_.-]{1,128}$/),
});

export const coordinationRoomSchema = Joi.object({
  name: streamName.required(),
  emptyTimeout: Joi.number().integer().min(0).max(86400),
  maxParticipants: Joi.number().integer().min(1).max(10000),
  metadata: Joi.string().max(4096),
  linkedStream: Joi.object({ app: appName.required(), name: streamName.required() }),
});

export function coordinationTranscodeSchema(defaultProfiles: string[]) {
  return Joi.object({
    streamKey: Joi.string().min(1).max(256).required(),
    app: appName.default('live'),
    name: streamName.required(),
    profiles: Joi.array().items(profile).min(1).max(8).unique().default(defaultProfiles),
    record: Joi.boolean().default(false),
  });
}

export const syncTargetParams = Joi.object({ target: Joi.string().valid('srs', 'livekit', 'encoder').required() });

/** Deepest nesting of a config-sync settings object. Service settings use at most two levels. */
const MAX_SETTINGS_DEPTH = 4;

/** Reports whether `value` nests objects or arrays deeper than `limit`, descending no further than that. */
function nestedDeeperThan(value: unknown, limit: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (limit === 0) return true;
  return Object.values(value).some((child) => nestedDeeperThan(child, limit - 1));
}

export const syncBodySchema = Joi.object({
  settings: Joi.object()
    .unknown(true)
    .max(200)
    .custom((value: Record<string, unknown>, helpers) =>
      nestedDeeperThan(value, MAX_SETTINGS_DEPTH) ? helpers.message({ custom: `must be nested at most ${MAX_SETTINGS_DEPTH} levels deep` }) : value,
    ),
}).default({});

export const healthParams = Joi.object({ target: Joi.string().valid('srs', 'livekit', 'encoder', 'backend').required() });
