import { AccessToken, TrackSource } from 'livekit-server-sdk';
import type { VideoGrant } from 'livekit-server-sdk';
import { SignJWT, decodeJwt, errors as joseErrors, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';

import { AppError } from '@castplane/errors';

/** The claims of a LiveKit access token as this service reads them. */
export interface LivekitClaims extends JWTPayload {
  name?: string;
  metadata?: string;
  attributes?: Record<string, string>;
  video?: VideoGrant;
  sha256?: string;
}

export interface TokenRequest {
  identity: string;
  name?: string;
  metadata?: string;
  attributes?: Record<string, string>;
  grants: VideoGrant;
  ttlSeconds?: number;
}

export interface TokenServiceOptions {
  apiKey: string;
  apiSecret: string;
  maxTtlSeconds: number;
  defaultTtlSeconds: number;
  clockSkewSeconds: number;
}

/** The fixed word for an access token's verification failure, which clients can branch on. */
export type TokenFailure =
  | 'expired'
  | 'not_yet_valid'
  | 'invalid_signature'
  | 'wrong_issuer'
  | 'missing_expiry'
  | 'invalid_claim'
  | 'unsupported_algorithm'
  | 'malformed';

/** A token that failed verification: 401 `unauthenticated` with reason `invalid_token`. */
export class InvalidTokenError extends AppError {
  constructor(
    readonly failure: TokenFailure,
    message: string,
  ) {
    super('unauthenticated', message, { reason: 'invalid_token' });
  }
}

// Issued tokens start this far in the past, so a client whose clock is slightly behind accepts them.
const NOT_BEFORE_BACKDATE_SECONDS = 10;

/** Issues and verifies LiveKit access tokens (HS256, `iss` = API key, grants under `video`). */
export class TokenService {
  private readonly key: Uint8Array;

  constructor(private readonly options: TokenServiceOptions) {
    this.key = new TextEncoder().encode(options.apiSecret);
  }

  get maxTtlSeconds(): number {
    return this.options.maxTtlSeconds;
  }

  async issue(request: TokenRequest): Promise<{ token: string; expiresAt: Date; notBefore: Date }> {
    const ttl = Math.min(request.ttlSeconds ?? this.options.defaultTtlSeconds, this.options.maxTtlSeconds);
    const token = new AccessToken(this.options.apiKey, this.options.apiSecret, {
      identity: request.identity,
      name: request.name,
      metadata: request.metadata,
      attributes: request.attributes,
      ttl,
    });
    token.addGrant(toSdkGrant(request.grants));
    const now = Math.floor(Date.now() / 1000);
    const claims = await token.toJwt();
    // AccessToken sets nbf to now; re-sign with nbf a little in the past and the same claims.
    const payload = { ...decodeJwt(claims), nbf: now - NOT_BEFORE_BACKDATE_SECONDS, exp: now + ttl };
    const signed = await new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(this.key);
    return { token: signed, expiresAt: new Date((now + ttl) * 1000), notBefore: new Date(payload.nbf * 1000) };
  }

  /**
   * Verifies a token like the LiveKit server: HS256 only, issuer equal to the API key, `exp`
   * required, and the configured clock skew on `exp` and `nbf`. Throws {@link InvalidTokenError}.
   */
  async verify(token: string): Promise<LivekitClaims> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        issuer: this.options.apiKey,
        requiredClaims: ['exp'],
        clockTolerance: this.options.clockSkewSeconds,
      });
      return payload as LivekitClaims;
    } catch (error) {
      const { failure, message } = describeFailure(error);
      throw new InvalidTokenError(failure, message);
    }
  }
}

const SOURCES: Record<string, TrackSource> = {
  camera: TrackSource.CAMERA,
  microphone: TrackSource.MICROPHONE,
  screen_share: TrackSource.SCREEN_SHARE,
  screen_share_audio: TrackSource.SCREEN_SHARE_AUDIO,
};

// AccessToken expects TrackSource values in canPublishSources and writes them as lower-case names.
function toSdkGrant(grants: VideoGrant): VideoGrant {
  if (!grants.canPublishSources) return grants;
  const sources = (grants.canPublishSources as unknown[]).map((source) => (typeof source === 'string' ? SOURCES[source] : source));
  return { ...grants, canPublishSources: sources as TrackSource[] };
}

function describeFailure(error: unknown): { failure: TokenFailure; message: string } {
  if (error instanceof joseErrors.JWTExpired) return { failure: 'expired', message: 'the access token has expired' };
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return { failure: 'invalid_signature', message: 'the access token signature is invalid' };
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return { failure: 'not_yet_valid', message: 'the access token is not valid yet (nbf)' };
    if (error.claim === 'exp') return { failure: 'missing_expiry', message: 'the access token has no expiry (exp is required)' };
    if (error.claim === 'iss') return { failure: 'wrong_issuer', message: 'the access token was not issued for this API key' };
    return { failure: 'invalid_claim', message: `the access token claim "${error.claim}" is invalid` };
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) {
    return { failure: 'unsupported_algorithm', message: 'the access token must be signed with HS256' };
  }
  return { failure: 'malformed', message: 'the access token is malformed' };
}
