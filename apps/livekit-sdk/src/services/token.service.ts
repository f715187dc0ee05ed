import { createHash, randomUUID } from 'node:crypto';

import { decodeProtectedHeader } from 'jose';
import type { VideoGrant } from 'livekit-server-sdk';

import { notFound } from '@castplane/errors';
import type { Redis } from '@castplane/redis';

import type { LivekitClients } from '../clients/livekit.client';

export interface TokenRequest {
  identity: string;
  roomName: string;
  name?: string;
  metadata?: string;
  ttlSeconds: number;
  grants: Omit<VideoGrant, 'room'>;
  issuedBy: string;
}

/** The metadata of an issued token. The token itself is never stored. */
export interface TokenRecord {
  tokenId: string;
  identity: string;
  roomName: string;
  name?: string;
  grants: VideoGrant;
  issuedAt: string;
  expiresAt: string;
  revoked: boolean;
  issuedBy: string;
}

export interface IssuedToken {
  token: string;
  tokenId: string;
  identity: string;
  roomName: string;
  expiresAt: string;
}

// Records outlive the token by a week so a lookup can still explain why it stopped working.
const RECORD_GRACE_SECONDS = 7 * 86400;
// The real LiveKit server accepts 60 s of clock skew; validation matches it.
const CLOCK_TOLERANCE_SECONDS = 60;

function digest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Issues LiveKit access tokens with `AccessToken`, keeps their metadata, validates and revokes. */
export class TokenService {
  constructor(private readonly deps: { redis: Redis; keyPrefix: string; livekit: LivekitClients }) {}

  private key(...parts: string[]): string {
    return [this.deps.keyPrefix, 'lksdk', ...parts].join(':');
  }

  async issue(request: TokenRequest): Promise<IssuedToken> {
    const tokenId = `tok_${randomUUID()}`;
    const grants: VideoGrant = { ...request.grants, room: request.roomName };
    const accessToken = this.deps.livekit.accessToken(request.identity, request.ttlSeconds, {
      name: request.name,
      metadata: request.metadata,
    });
    accessToken.addGrant(grants);
    const token = await accessToken.toJwt();

    const issuedAt = new Date();
    const expiresAt = new Date(issuedAt.getTime() + request.ttlSeconds * 1000);
    const record: TokenRecord = {
      tokenId,
      identity: request.identity,
      roomName: request.roomName,
      name: request.name,
      grants,
      issuedAt: issuedAt.toISOString(),
      expiresAt: expiresAt.toISOString(),
      revoked: false,
      issuedBy: request.issuedBy,
    };
    const keep = request.ttlSeconds + RECORD_GRACE_SECONDS;
    await this.deps.redis
      .multi()
      .set(this.key('token', tokenId), JSON.stringify(record), 'EX', keep)
      .set(this.key('token-hash', digest(token)), tokenId, 'EX', keep)
      .exec();
    const { identity, roomName } = request;
    return { token, tokenId, identity, roomName, expiresAt: record.expiresAt };
  }

  async get(tokenId: string): Promise<TokenRecord> {
    const raw = await this.deps.redis.get(this.key('token', tokenId));
    if (!raw) throw notFound('token', tokenId);
    return JSON.parse(raw) as TokenRecord;
  }

  async revoke(tokenId: string): Promise<TokenRecord> {
    const record = await this.get(tokenId);
    const ttl = await this.deps.redis.ttl(this.key('token', tokenId));
    const revoked = { ...record, revoked: true };
    await this.deps.redis.set(this.key('token', tokenId), JSON.stringify(revoked), 'EX', Math.max(ttl, 1));
    return revoked;
  }

  /**
   * Checks a token the way LiveKit does (HS256, issuer = API key, signature, `exp` with 60 s
   * tolerance) and reports what this service recorded for it. Returns `valid: false` with a
   * reason instead of throwing, because an invalid token is a valid result here, not a bad request.
   */
  async validate(token: string) {
    let claims;
    try {
      if (decodeProtectedHeader(token).alg !== 'HS256') {
        return { valid: false, reason: 'the token is not signed with HS256' };
      }
      claims = await this.deps.livekit.verifier.verify(token, CLOCK_TOLERANCE_SECONDS);
    } catch (error) {
      return { valid: false, reason: verifyFailure(error) };
    }
    const tokenId = await this.deps.redis.get(this.key('token-hash', digest(token)));
    const record = tokenId ? await this.get(tokenId).catch(() => undefined) : undefined;
    const expiresAt = typeof claims.exp === 'number' ? new Date(claims.exp * 1000).toISOString() : null;
    const base = {
      identity: claims.sub ?? null,
      roomName: claims.video?.room ?? null,
      grants: claims.video ?? {},
      expiresAt,
    };
    if (record?.revoked) {
      return { valid: false, reason: 'the token has been revoked', tokenId: record.tokenId, ...base };
    }
    return { valid: true, tokenId: record?.tokenId ?? null, issuedHere: Boolean(record), ...base };
  }
}

function verifyFailure(error: unknown): string {
  const name = error instanceof Error ? error.name : '';
  const code = (error as { code?: string }).code ?? '';
  if (name === 'JWTExpired' || code === 'ERR_JWT_EXPIRED') return 'the token has expired';
  if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return 'the token signature is invalid';
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') return 'the token claims are invalid (issuer, nbf or exp)';
  return 'the token is malformed';
}
