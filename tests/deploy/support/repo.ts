import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import type { ObjectSchema } from 'joi';

import * as encoderConfig from '../../../apps/encoder/src/config';
import * as livekitSdkConfig from '../../../apps/livekit-sdk/src/config';
import * as livekitServerConfig from '../../../apps/livekit-server/src/config';
import * as orchestratorConfig from '../../../apps/orchestrator/src/config';
import * as srsAdapterConfig from '../../../apps/srs-adapter/src/config';
import { SERVICES, SERVICE_NAMES } from '@castplane/contracts';
import type { ServiceName } from '@castplane/contracts';

export { SERVICES, SERVICE_NAMES };
export type { ServiceName };

export const ROOT = resolve(__dirname, '../../..');

export function readRepoFile(path: string): string {
  return readFileSync(join(ROOT, path), 'utf8');
}

interface AppConfigModule {
  configSchema: ObjectSchema;
  SECRETS: readonly string[];
}

/** Each app's config module, read at test time so new variables are checked as they appear. */
export const APP_CONFIGS: Record<ServiceName, AppConfigModule> = {
  'srs-adapter': srsAdapterConfig,
  encoder: encoderConfig,
  'livekit-server': livekitServerConfig,
  'livekit-sdk': livekitSdkConfig,
  orchestrator: orchestratorConfig,
};

export interface VariableSpec {
  required: boolean;
  default?: unknown;
}

/** Returns the variables of an app's config schema, with presence and default. */
export function schemaVariables(app: ServiceName): Map<string, VariableSpec> {
  const keys = (APP_CONFIGS[app].configSchema.describe() as { keys: Record<string, { flags?: Record<string, unknown> }> })
    .keys;
  const variables = new Map<string, VariableSpec>();
  for (const [name, description] of Object.entries(keys)) {
    variables.set(name, {
      required: description.flags?.presence === 'required',
      default: description.flags?.default,
    });
  }
  return variables;
}

/** True when `name` is a schema variable, or `<SECRET>_FILE` for one of the app's secrets. */
export function isKnownVariable(app: ServiceName, name: string): boolean {
  if (schemaVariables(app).has(name)) return true;
  const secret = name.endsWith('_FILE') ? name.slice(0, -'_FILE'.length) : undefined;
  return secret !== undefined && APP_CONFIGS[app].SECRETS.includes(secret);
}

/** Validates an environment with the app's schema; returns the problems (empty when valid). */
export function validateAppEnv(app: ServiceName, env: Record<string, string>): string[] {
  const { error } = APP_CONFIGS[app].configSchema.validate(env, { abortEarly: false, allowUnknown: true, convert: true });
  return (error?.details ?? []).map((detail) => `${detail.path.join('.')}: ${detail.type}`);
}

/** Runs docker/compose-secrets.sh into a temporary file and returns the generated values. */
export function generateSecrets(): Record<string, string> {
  const directory = mkdtempSync(join(tmpdir(), 'castplane-deploy-'));
  try {
    const file = join(directory, 'secrets.env');
    execFileSync('sh', [join(ROOT, 'docker/compose-secrets.sh'), file], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    return parseEnvFile(readFileSync(file, 'utf8'));
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** Parses KEY=VALUE lines, skipping blank lines and # comments. */
export function parseEnvFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) values[match[1]] = match[2];
  }
  return values;
}

/** Returns the listener names and default ports of an app, from the service table. */
export function listenerPorts(app: ServiceName): Map<string, number> {
  const listeners = SERVICES[app].listeners as Record<string, { port: number; env: string }>;
  return new Map(Object.entries(listeners).map(([name, listener]) => [name, listener.port]));
}

/** Returns the variable that sets each listener's port. */
export function listenerEnv(app: ServiceName): Map<string, string> {
  const listeners = SERVICES[app].listeners as Record<string, { port: number; env: string }>;
  return new Map(Object.entries(listeners).map(([name, listener]) => [name, listener.env]));
}

/**
 * Returns the ports each in-cluster or compose host name listens on: the five services' listeners,
 * Redis, and SRS (RTMP, HTTP, API).
 */
export function hostPorts(): Map<string, number[]> {
  const ports = new Map<string, number[]>();
  for (const app of SERVICE_NAMES) ports.set(app, [...listenerPorts(app).values()]);
  ports.set('redis', [6379]);
  ports.set('srs', [1935, 8080, 1985]);
  return ports;
}
