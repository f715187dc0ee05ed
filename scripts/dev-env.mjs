// Development secrets for `npm start` and `npm run token`, kept in .data/dev.env (ignored by git).
// Each missing variable is generated once; existing values are kept so tokens stay valid.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
export const DEV_ENV_FILE = join(root, '.data', 'dev.env');

const hex = (bytes) => randomBytes(bytes).toString('hex');

/** Every secret the services read, with how to generate a development value. */
const GENERATORS = {
  AUTH_JWT_SECRET: () => hex(32),
  SRS_CALLBACK_SECRET: () => hex(16),
  LIVEKIT_API_KEY: () => `APIdev${hex(6)}`,
  LIVEKIT_API_SECRET: () => hex(24),
  SDK_DEV_CLIENT_SECRET: () => hex(24),
  SDK_SETTINGS_ENCRYPTION_KEY: () => hex(32),
};

export function readEnvFile(file) {
  if (!existsSync(file)) return {};
  const values = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) values[match[1]] = match[2];
  }
  return values;
}

/** Returns a fresh value for every secret, without touching the file (tests use it). */
export function generateSecrets() {
  return Object.fromEntries(Object.entries(GENERATORS).map(([name, generate]) => [name, generate()]));
}

/** Returns the development secrets, creating the file or adding missing ones. */
export function loadDevEnv() {
  const values = readEnvFile(DEV_ENV_FILE);
  let changed = false;
  for (const [name, generate] of Object.entries(GENERATORS)) {
    if (!values[name]) {
      values[name] = generate();
      changed = true;
    }
  }
  if (changed) {
    mkdirSync(dirname(DEV_ENV_FILE), { recursive: true });
    const body = Object.entries(values).map(([name, value]) => `${name}=${value}`).join('\n');
    writeFileSync(DEV_ENV_FILE, `# development secrets written by npm start; do not use in production\n${body}\n`, {
      mode: 0o600,
    });
  }
  return values;
}
