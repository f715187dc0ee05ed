import { createHash, randomBytes, randomUUID } from 'node:crypto';

import { SignJWT, decodeJwt } from 'jose';

import type { Scope } from '@castplane/auth';
import { AppError, unauthenticated } from '@castplane/errors';
import type { Logger } from '@castplane/logging';
import type { Redis } from '@castplane/redis';

import type { ClientRegistry } from './client-registry';

export interface AuthSettings {
  jwtSecret: string;
  jwtIssuer: string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  maxLoginFailures: number;
  loginWindowSeconds: number;
}

export interface TokenPair {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  refreshToken: string;
  refreshExpiresIn: number;
  scope: string;
}

// Marks a refresh token used and reads its family in one step, so two concurrent refreshes with
// the same token cannot both succeed. Returns {status, family}.
const ROTATE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing', ''} end
local family = redis.call('HGET', KEYS[1], 'family')
if redis.call('HGET', ARGV[1] .. family, 'revoked') ~= '0' then return {'revoked', family} end
if redis.call('HGET', KEYS[1], 'status') ~= 'active' then return {'reused', family} end
redis.call('HSET', KEYS[1], 'status', 'used')
return {'ok', family}`;

// Marks a family revoked and deletes every access token id issued in it.
const REVOKE_FAMILY = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'revoked', '1') end
for _, jti in ipairs(redis.call('SMEMBERS', KEYS[2])) do redis.call('DEL', ARGV[1] .. jti) end
redis.call('DEL', KEYS[2])
return 1`;

const COUNT_FAILURE = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count`;

function digest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

function rejected(message: string, reason: string): AppError {
  const error = unauthenticated(message);
  return new AppError('unauthenticated', error.message, { reason, headers: error.headers });
}

/**
 * API client sessions: login with client credentials, rotating refresh tokens grouped in a
 * family, and revocation. Access tokens are the platform's HS256 bearer tokens with a `jti` that
 * must still exist in Redis, so logout takes effect before the token expires.
 */
export class AuthService {
  constructor(
    private readonly deps: {
      redis: Redis;
      keyPrefix: string;
      clients: ClientRegistry;
      settings: AuthSettings;
      logger: Logger;
    },
  ) {}

  private key(...parts: string[]): string {
    return [this.deps.keyPrefix, 'lksdk', ...parts].join(':');
  }

  async login(clientId: string, clientSecret: string): Promise<TokenPair> {
    await this.rejectWhenLocked(clientId);
    const client = this.deps.clients.authenticate(clientId, clientSecret);
    if (!client) {
      await this.countFailure(clientId);
      throw rejected('invalid client credentials', 'invalid_client');
    }
    await this.deps.redis.del(this.key('login-failures', clientId));
    const family = randomUUID();
    const ttl = this.deps.settings.refreshTtlSeconds;
    await this.deps.redis
      .multi()
      .hset(this.key('family', family), { clientId, scopes: client.scopes.join(' '), revoked: '0' })
      .expire(this.key('family', family), ttl)
      .exec();
    this.deps.logger.info('client logged in', { clientId });
    return this.issue(clientId, client.scopes, family);
  }

  async refresh(refreshToken: string): Promise<TokenPair> {
    const recordKey = this.key('refresh', digest(refreshToken));
    const familyPrefix = this.key('family', '');
    const [status, family] = (await this.deps.redis.eval(ROTATE, 1, recordKey, familyPrefix)) as [string, string];
    if (status === 'missing') {
      throw rejected('the refresh token is invalid or expired', 'invalid_refresh_token');
    }
    if (status === 'revoked') throw rejected('the refresh token has been revoked', 'refresh_token_revoked');
    const session = await this.deps.redis.hgetall(this.key('family', family));
    if (status === 'reused') {
      await this.revokeFamily(family);
      this.deps.logger.warn('refresh token reused; session revoked', { clientId: session.clientId });
      const message = 'the refresh token was already used, so the session has been revoked';
      throw rejected(message, 'refresh_token_reused');
    }
    const client = this.deps.clients.get(session.clientId);
    if (!client) {
      await this.revokeFamily(family);
      throw rejected('the client is no longer configured', 'invalid_client');
    }
    await this.deps.redis.expire(this.key('family', family), this.deps.settings.refreshTtlSeconds);
    return this.issue(client.id, client.scopes, family);
  }

  /** Revokes the session of `accessToken` and, when given, the session of `refreshToken`. */
  async logout(accessToken?: string, refreshToken?: string): Promise<{ revoked: number }> {
    const families = new Set<string>();
    const claims = accessToken ? decodeJwt(accessToken) : {};
    if (typeof claims.fam === 'string') families.add(claims.fam);
    if (refreshToken) {
      const family = await this.deps.redis.hget(this.key('refresh', digest(refreshToken)), 'family');
      if (family) families.add(family);
    }
    for (const family of families) await this.revokeFamily(family);
    return { revoked: families.size };
  }

  /** Resolves when the bearer token is not one of ours or is still live; rejects a revoked one. */
  async assertLive(bearer: string): Promise<void> {
    const claims = decodeJwt(bearer);
    if (typeof claims.jti !== 'string' || typeof claims.fam !== 'string') return;
    const live = await this.deps.redis.exists(this.key('access', claims.jti));
    if (!live) throw rejected('the access token has been revoked', 'access_token_revoked');
  }

  private async issue(clientId: string, scopes: Scope[], family: string): Promise<TokenPair> {
    const { settings } = this.deps;
    const jti = randomUUID();
    const accessToken = await new SignJWT({ scope: scopes.join(' '), fam: family, cid: clientId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(settings.jwtIssuer)
      .setSubject(`client:${clientId}`)
      .setJti(jti)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + settings.accessTtlSeconds)
      .sign(new TextEncoder().encode(settings.jwtSecret));
    const refreshToken = randomBytes(32).toString('base64url');
    const refreshKey = this.key('refresh', digest(refreshToken));
    const accessSet = this.key('family', family, 'access');

    await this.deps.redis
      .multi()
      .set(this.key('access', jti), family, 'EX', settings.accessTtlSeconds)
      .sadd(accessSet, jti)
      .expire(accessSet, settings.refreshTtlSeconds)
      .hset(refreshKey, { family, clientId, status: 'active' })
      .expire(refreshKey, settings.refreshTtlSeconds)
      .exec();
    return {
      accessToken,
      tokenType: 'Bearer',
      expiresIn: settings.accessTtlSeconds,
      refreshToken,
      refreshExpiresIn: settings.refreshTtlSeconds,
      scope: scopes.join(' '),
    };
  }

  private async revokeFamily(family: string): Promise<void> {
    await this.deps.redis.eval(
      REVOKE_FAMILY,
      2,
      this.key('family', family),
      this.key('family', family, 'access'),
      this.key('access', ''),
    );
  }

  private async rejectWhenLocked(clientId: string): Promise<void> {
    const key = this.key('login-failures', clientId);
    const [count, ttl] = await Promise.all([this.deps.redis.get(key), this.deps.redis.ttl(key)]);
    if (Number(count ?? 0) < this.deps.settings.maxLoginFailures) return;
    const retryAfter = Math.max(1, ttl);
    const message = `too many failed logins for this client: retry in ${retryAfter} s`;
    throw new AppError('resource_exhausted', message, {
      reason: 'login_rate_limited',
      headers: { 'Retry-After': String(retryAfter) },
      details: [{ field: 'body.clientId', message: 'too many failed logins' }],
    });
  }

  private async countFailure(clientId: string): Promise<void> {
    const key = this.key('login-failures', clientId);
    await this.deps.redis.eval(COUNT_FAILURE, 1, key, String(this.deps.settings.loginWindowSeconds));
    this.deps.logger.info('client login failed', { clientId });
  }
}
