import type { KeyObject } from 'node:crypto';
import { createSecretKey } from 'node:crypto';

import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';

import type { Scope } from './api-keys';
import { SCOPES } from './api-keys';

/** Seconds of clock difference accepted on `exp` and `nbf`. */
export const CLOCK_TOLERANCE_SECONDS = 5;

export interface ServiceTokenClaims {
  sub: string;
  scope: Scope[];
}

export interface SignOptions {
  secret: string;
  issuer: string;
  ttlSeconds: number;
}

const keys = new Map<string, KeyObject>();

// Building the HMAC key object once per secret saves work on every verification.
function keyOf(secret: string): KeyObject {
  let key = keys.get(secret);
  if (!key) {
    key = createSecretKey(Buffer.from(secret, 'utf8'));
    keys.set(secret, key);
  }
  return key;
}

/** Signs an HS256 bearer token with `iss`, `sub`, `iat`, `exp` and a space-separated `scope`. */
export async function signServiceToken(claims: ServiceTokenClaims, options: SignOptions): Promise<string> {
  return new SignJWT({ scope: claims.scope.join(' ') })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(options.issuer)
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + options.ttlSeconds)
    .sign(keyOf(options.secret));
}

export type VerifyResult =
  | { ok: true; sub: string; scopes: Scope[]; expiresAt: number }
  | { ok: false; reason: 'expired' | 'invalid_signature' | 'invalid_claims' | 'malformed' };

/** Verifies a bearer token: HS256 only, the configured issuer, a required `exp` and a `sub`. */
export async function verifyServiceToken(
  token: string,
  options: { secret: string; issuer: string },
): Promise<VerifyResult> {
  try {
    const { payload } = await jwtVerify(token, keyOf(options.secret), {
      algorithms: ['HS256'],
      issuer: options.issuer,
      requiredClaims: ['exp', 'sub'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    });
    const scopes = String(payload.scope ?? '')
      .split(' ')
      .filter((scope): scope is Scope => SCOPES.includes(scope as Scope));
    return { ok: true, sub: String(payload.sub), scopes, expiresAt: Number(payload.exp) };
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) return { ok: false, reason: 'expired' };
    if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
      return { ok: false, reason: 'invalid_signature' };
    }
    if (error instanceof joseErrors.JWTClaimValidationFailed) return { ok: false, reason: 'invalid_claims' };
    return { ok: false, reason: 'malformed' };
  }
}
