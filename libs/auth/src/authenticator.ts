import type { ApiKeyRecord, Scope } from './api-keys';
import { matchApiKey } from './api-keys';
import { verifyServiceToken } from './jwt';

/** The caller of a request: an API key by its id, or a bearer token by its subject. */
export interface Principal {
  id: string;
  kind: 'api_key' | 'jwt';
  scopes: Scope[];
}

export type AuthOutcome =
  | { status: 'anonymous' }
  | { status: 'authenticated'; principal: Principal }
  | { status: 'rejected'; message: string };

export interface AuthenticatorOptions {
  jwtSecret: string;
  jwtIssuer: string;
  apiKeys: readonly ApiKeyRecord[];
}

const REJECT_MESSAGES = {
  expired: 'the bearer token has expired',
  invalid_signature: 'the bearer token signature is invalid',
  invalid_claims: 'the bearer token claims are invalid (issuer, subject or expiry)',
  malformed: 'the bearer token is malformed',
} as const;

/** `admin` includes `write`, which includes `read`. */
export function hasScope(granted: readonly Scope[], needed: Scope): boolean {
  if (granted.includes('admin')) return true;
  if (needed === 'read') return granted.includes('read') || granted.includes('write');
  return granted.includes(needed);
}

/** Verified bearer tokens kept in memory; a hit skips the signature check until `exp`. */
const TOKEN_CACHE_SIZE = 10_000;

/**
 * Resolves the `Authorization` and `X-API-Key` headers of a request to a principal. Verified
 * tokens are cached by their exact text until they expire, so a client that reuses its token
 * pays for one HMAC check, not one per request.
 */
export function createAuthenticator(options: AuthenticatorOptions) {
  const verified = new Map<string, { principal: Principal; expiresAt: number }>();

  async function verifyBearer(token: string): Promise<AuthOutcome> {
    const cached = verified.get(token);
    if (cached && cached.expiresAt > Date.now()) return { status: 'authenticated', principal: cached.principal };
    if (cached) verified.delete(token);

    const result = await verifyServiceToken(token, { secret: options.jwtSecret, issuer: options.jwtIssuer });
    if (!result.ok) return { status: 'rejected', message: REJECT_MESSAGES[result.reason] };
    const principal: Principal = { id: `jwt:${result.sub}`, kind: 'jwt', scopes: result.scopes };
    if (verified.size >= TOKEN_CACHE_SIZE) verified.clear();
    verified.set(token, { principal, expiresAt: result.expiresAt * 1000 });
    return { status: 'authenticated', principal };
  }

  return async function authenticate(headers: {
    authorization?: string;
    'x-api-key'?: string | string[];
  }): Promise<AuthOutcome> {
    const apiKey = headers['x-api-key'];
    if (apiKey !== undefined) {
      const presented = Array.isArray(apiKey) ? apiKey[0] : apiKey;
      const record = presented ? matchApiKey(options.apiKeys, presented) : undefined;
      if (!record) return { status: 'rejected', message: 'the API key is not valid' };
      return {
        status: 'authenticated',
        principal: { id: `key:${record.id}`, kind: 'api_key', scopes: record.scopes },
      };
    }

    const authorization = headers.authorization;
    if (authorization === undefined) return { status: 'anonymous' };
    // The scheme name is case-insensitive (RFC 7235), the token is not.
    const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(authorization.trim());
    if (!match) return { status: 'rejected', message: 'the Authorization header must be "Bearer <token>"' };

    return verifyBearer(match[1]);
  };
}

export type Authenticate = ReturnType<typeof createAuthenticator>;
