import { readFileSync } from 'node:fs';

import Joi from 'joi';

export { Joi };

/** Raised at startup when the environment is invalid; `problems` lists every variable at fault. */
export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Variables every service reads. Secrets have no default; `npm start` writes development ones. */
export const baseEnvSchema = Joi.object({
  NODE_ENV: Joi.string().valid('development', 'production', 'test').default('production'),
  LOG_LEVEL: Joi.string().valid('error', 'warn', 'info', 'debug').default('info'),
  HOST: Joi.string().hostname().default('127.0.0.1'),
  REDIS_URL: Joi.string()
    .uri({ scheme: ['redis', 'rediss'] })
    .default('redis://127.0.0.1:6379'),
  REDIS_KEY_PREFIX: Joi.string()
    .pattern(/^[a-z0-9][a-z0-9-]{0,40}$/)
    .default('castplane'),
  AUTH_JWT_SECRET: Joi.string().min(32).required(),
  AUTH_JWT_ISSUER: Joi.string().min(1).default('castplane'),
  API_KEYS: Joi.string().allow('').default(''),
  API_KEYS_FILE: Joi.string(),
  RATE_LIMIT_MAX: Joi.number().integer().min(1).default(1000),
  RATE_LIMIT_WINDOW_SECONDS: Joi.number().integer().min(1).max(86400).default(60),
  BODY_LIMIT: Joi.string()
    .pattern(/^\d+(b|kb|mb)$/i)
    .default('1mb'),
  SHUTDOWN_TIMEOUT_MS: Joi.number().integer().min(100).max(120000).default(10000),
});

/** Names of the variables in {@link baseEnvSchema} whose values are secret. */
export const BASE_SECRETS = ['AUTH_JWT_SECRET', 'API_KEYS'] as const;

export interface BaseConfig {
  NODE_ENV: 'development' | 'production' | 'test';
  LOG_LEVEL: string;
  HOST: string;
  REDIS_URL: string;
  REDIS_KEY_PREFIX: string;
  AUTH_JWT_SECRET: string;
  AUTH_JWT_ISSUER: string;
  API_KEYS: string;
  API_KEYS_FILE?: string;
  RATE_LIMIT_MAX: number;
  RATE_LIMIT_WINDOW_SECONDS: number;
  BODY_LIMIT: string;
  SHUTDOWN_TIMEOUT_MS: number;
}

/**
 * Reads `<NAME>_FILE` for each secret variable that is not set directly, so Kubernetes and
 * compose secrets can be mounted as files. A file that cannot be read is a config problem.
 */
function readSecretFiles(
  env: NodeJS.ProcessEnv,
  secrets: readonly string[],
  problems: string[],
): Record<string, string | undefined> {
  const merged: Record<string, string | undefined> = { ...env };
  for (const name of secrets) {
    const file = env[`${name}_FILE`];
    if (merged[name] !== undefined || !file) continue;
    try {
      merged[name] = readFileSync(file, 'utf8').trim();
    } catch (error) {
      problems.push(`${name}_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code})`);
    }
  }
  return merged;
}

/**
 * Validates the environment against `schema` once, reporting every problem in one
 * {@link ConfigError}, and returns the frozen, typed result.
 */
export function loadConfig<T extends object>(
  schema: Joi.ObjectSchema,
  env: NodeJS.ProcessEnv,
  secrets: readonly string[],
): Readonly<T> {
  const problems: string[] = [];
  const merged = readSecretFiles(env, secrets, problems);
  const { error, value } = schema.validate(merged, {
    abortEarly: false,
    allowUnknown: true,
    stripUnknown: true,
    convert: true,
  });

  for (const detail of error?.details ?? []) {
    const name = detail.path.join('.');
    // Never echo a secret's value: joi's message may contain it for pattern failures.
    const shown = secrets.includes(name) ? `${name} is invalid or missing` : detail.message;
    problems.push(shown.replace(/^"([^"]+)"/, '$1'));
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(value) as Readonly<T>;
}

/** Returns the config with every secret replaced, for the startup log line. */
export function describeConfig(
  config: object,
  secrets: readonly string[],
): Record<string, unknown> {
  const described: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (!secrets.includes(key)) described[key] = value;
    else described[key] = value ? '[set]' : '[unset]';
  }
  return described;
}
