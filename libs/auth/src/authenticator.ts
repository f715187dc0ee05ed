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

/** The credential headers of a request. */
export interface CredentialHeaders {
  authorization?: string;
  'x-api-key'?: string | string[];
}

/** Resolves the `Authorization` and `X-API-Key` headers of a request to a principal. */
export interface Authenticate {
  (headers: CredentialHeaders): Promise<AuthOutcome>;
  /**
   * Returns the outcome without waiting when it needs no signature check: API keys, missing or
   * malformed headers, and bearer tokens verified before. Returns undefined when a bearer token
   * must be verified first, which only the call itself does.
   */
  immediate(headers: CredentialHeaders): AuthOutcome | undefined;
}

/**
 * Creates the authenticator. Verified tokens are cached by their exact text until they expire,
 * so a client that reuses its token pays for one HMAC check, not one per request.
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticate {
  const verified = new Map<string, { principal: Principal; expiresAt: number }>();

  function bearerToken(authorization: string): string | undefined {
    // The scheme name is case-insensitive (RFC 7235), the token is not.
    return /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(authorization.trim())?.[1];
  }

  function immediate(headers: CredentialHeaders): AuthOutcome | undefined {
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
    const token = bearerToken(authorization);
    if (!token) return { status: 'rejected', message: 'the Authorization header must be "Bearer <token>"' };

    const cached = verified.get(token);
    if (cached && cached.expiresAt > Date.now()) return { status: 'authenticated', principal: cached.principal };
    return undefined;
  }

  async function verifyBearer(token: string): Promise<AuthOutcome> {
    verified.delete(token);
    const result = await verifyServiceToken(token, { secret: options.jwtSecret, issuer: options.jwtIssuer });
    if (!result.ok) return { status: 'rejected', message: REJECT_MESSAGES[result.reason] };
    const principal: Principal = { id: `jwt:${result.sub}`, kind: 'jwt', scopes: result.scopes };
    if (verified.size >= TOKEN_CACHE_SIZE) verified.clear();
    verified.set(token, { principal, expiresAt: result.expiresAt * 1000 });
    return { status: 'authenticated', principal };
  }

  async function authenticate(headers: CredentialHeaders): Promise<AuthOutcome> {
    const outcome = immediate(headers);
    if (outcome) return outcome;
    // immediate() returns undefined only for a well-formed bearer token that is not cached.
    return verifyBearer(bearerToken(headers.authorization as string) as string);
  }

  return Object.assign(authenticate, { immediate });
}
