import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

export type Scope = 'read' | 'write' | 'admin';

export const SCOPES: readonly Scope[] = ['read', 'write', 'admin'];

/** A configured API key: only the SHA-256 of the key is kept in memory. */
export interface ApiKeyRecord {
  id: string;
  scopes: Scope[];
  hash: Buffer;
}

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * Parses API key entries, one per line or separated by commas, each `id:scopes:sha256hex` where
 * scopes are joined with `+` (for example `ci:read+write:9f86d0...`). Lines starting with `#` are
 * comments. Throws with the entry's id (never the hash) when an entry is invalid.
 */
export function parseApiKeys(spec: string): ApiKeyRecord[] {
  const records: ApiKeyRecord[] = [];
  const entries = spec
    .split(/[\n,]/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));

  for (const [index, entry] of entries.entries()) {
    const [id, scopeList, hex, ...rest] = entry.split(':');
    const label = id ? `API key "${id}"` : `API key entry ${index + 1}`;
    if (!id || !scopeList || !hex || rest.length > 0 || !/^[A-Za-z0-9._-]{1,64}$/.test(id)) {
      throw new Error(`${label}: expected id:scopes:sha256hex`);
    }
    const scopes = scopeList.split('+') as Scope[];
    if (scopes.some((scope) => !SCOPES.includes(scope))) {
      throw new Error(`${label}: scopes must be among ${SCOPES.join(', ')}`);
    }
    if (!/^[0-9a-f]{64}$/i.test(hex)) {
      throw new Error(`${label}: the hash must be 64 hex characters (sha256 of the key)`);
    }
    records.push({ id, scopes, hash: Buffer.from(hex, 'hex') });
  }
  return records;
}

/** Reads API key entries from the `API_KEYS` value and, when given, a mounted file. */
export function loadApiKeys(inline: string, file?: string): ApiKeyRecord[] {
  const fromFile = file ? readFileSync(file, 'utf8') : '';
  return [...parseApiKeys(inline), ...parseApiKeys(fromFile)];
}

/**
 * Finds the record whose hash matches the presented key. Every record is compared, in constant
 * time, so the time taken does not reveal which entry or how many bytes matched.
 */
export function matchApiKey(records: readonly ApiKeyRecord[], presented: string): ApiKeyRecord | undefined {
  const digest = sha256(presented);
  let found: ApiKeyRecord | undefined;
  for (const record of records) {
    if (timingSafeEqual(record.hash, digest) && !found) found = record;
  }
  return found;
}
