import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Returns a random secret of `bytes` bytes, base64url encoded. */
export function randomSecret(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

/** Compares two secrets in constant time; digests first so different lengths leak nothing. */
export function secretsEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && expected.length > 0;
}

/** Parses SRS's `param` (the raw query with its leading `?`) into search params. */
export function parseParam(param: string | undefined): URLSearchParams {
  return new URLSearchParams((param ?? '').replace(/^\?/, ''));
}

const KEY_NAMES = ['key', 'secret', 'token'] as const;

/** Reads the stream key from a publish URL's query: `key`, then `secret`, then `token`. */
export function publishKeyFromParam(param: string | undefined): string | undefined {
  const query = parseParam(param);
  for (const name of KEY_NAMES) {
    const value = query.get(name);
    if (value) return value;
  }
  return undefined;
}

/** Signs a playback token `<expiresAtSeconds>.<hmac>` for a signed stream. */
export function signPlaybackToken(streamId: string, secret: string, expiresAt: number): string {
  const mac = createHmac('sha256', secret).update(`${streamId}.${expiresAt}`).digest('base64url');
  return `${expiresAt}.${mac}`;
}

/** Checks a playback token's signature and expiry in constant time. */
export function verifyPlaybackToken(streamId: string, secret: string, token: string | undefined, nowSeconds: number): boolean {
  const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token ?? '');
  if (!match) return false;
  const expiresAt = Number(match[1]);
  const expected = signPlaybackToken(streamId, secret, expiresAt);
  return secretsEqual(token ?? '', expected) && expiresAt >= nowSeconds;
}
