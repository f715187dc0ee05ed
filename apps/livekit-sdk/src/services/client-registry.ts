import { createHash, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

import type { Scope } from '@castplane/auth';
import { SCOPES } from '@castplane/auth';

/** A configured API client. Only a hash of its secret is kept. */
export interface ApiClient {
  id: string;
  scopes: Scope[];
  verify(secret: string): boolean;
}

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 } as const;
const CLIENT_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Returns an `SDK_CLIENTS` hash for `secret`: `scrypt$<salt hex>$<key hex>`. */
export function hashClientSecret(secret: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(secret, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
  return `scrypt$${salt.toString('hex')}$${key.toString('hex')}`;
}

function sha256Verifier(hex: string): (secret: string) => boolean {
  const expected = Buffer.from(hex, 'hex');
  return (secret) => timingSafeEqual(createHash('sha256').update(secret, 'utf8').digest(), expected);
}

function scryptVerifier(saltHex: string, keyHex: string): (secret: string) => boolean {
  const salt = Buffer.from(saltHex, 'hex');
  const expected = Buffer.from(keyHex, 'hex');
  return (secret) => {
    const key = scryptSync(secret, salt, expected.length, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
    return timingSafeEqual(key, expected);
  };
}

function parseHash(label: string, hash: string): (secret: string) => boolean {
  if (/^[0-9a-f]{64}$/i.test(hash)) return sha256Verifier(hash);
  const scrypt = /^scrypt\$([0-9a-f]{16,128})\$([0-9a-f]{32,128})$/i.exec(hash);
  if (scrypt) return scryptVerifier(scrypt[1], scrypt[2]);
  throw new Error(`${label}: the hash must be 64 hex characters (sha256) or scrypt$<salt hex>$<key hex>`);
}

/**
 * Parses client entries, one per line or separated by commas, each `clientId:scopes:hash` with
 * scopes joined by `+`. Lines starting with `#` are comments. Errors name the client id, never
 * the hash.
 */
export function parseClients(spec: string): ApiClient[] {
  const entries = spec
    .split(/[\n,]/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  return entries.map((entry, index) => {
    const [id, scopeList, hash, ...rest] = entry.split(':');
    const label = id ? `SDK client "${id}"` : `SDK client entry ${index + 1}`;
    if (!id || !scopeList || !hash || rest.length > 0 || !CLIENT_ID.test(id)) {
      throw new Error(`${label}: expected clientId:scopes:hash`);
    }
    const scopes = scopeList.split('+') as Scope[];
    if (scopes.some((scope) => !SCOPES.includes(scope))) {
      throw new Error(`${label}: scopes must be among ${SCOPES.join(', ')}`);
    }
    return { id, scopes, verify: parseHash(label, hash) };
  });
}

/** The API clients allowed to log in, from `SDK_CLIENTS`, `SDK_CLIENTS_FILE` and the dev client. */
export class ClientRegistry {
  private readonly clients = new Map<string, ApiClient>();
  // Compared against when the client id is unknown, so a miss costs as much as a wrong secret.
  private readonly decoy = scryptVerifier(randomBytes(16).toString('hex'), randomBytes(32).toString('hex'));

  constructor(clients: ApiClient[]) {
    for (const client of clients) {
      if (this.clients.has(client.id)) throw new Error(`SDK client "${client.id}" is configured twice`);
      this.clients.set(client.id, client);
    }
  }

  static load(options: { inline: string; file?: string; devSecret?: string; nodeEnv: string }) {
    const clients = [...parseClients(options.inline)];
    if (options.file) clients.push(...parseClients(readFileSync(options.file, 'utf8')));
    // The dev client exists only outside production, so a leaked dev.env cannot open a deployment.
    if (options.devSecret && options.nodeEnv !== 'production') {
      const hash = createHash('sha256').update(options.devSecret).digest('hex');
      clients.push(...parseClients(`dev:admin:${hash}`));
    }
    return new ClientRegistry(clients);
  }

  /** Returns the client when `secret` matches its hash. */
  authenticate(clientId: string, secret: string): ApiClient | undefined {
    const client = this.clients.get(clientId);
    if (!client) {
      this.decoy(secret);
      return undefined;
    }
    return client.verify(secret) ? client : undefined;
  }

  get(clientId: string): ApiClient | undefined {
    return this.clients.get(clientId);
  }

  get size(): number {
    return this.clients.size;
  }
}
