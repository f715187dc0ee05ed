import type { NextFunction, Request, Response } from 'express';
import type Redis from 'ioredis';

import { AppError } from '@castplane/errors';
import type { Logger } from '@castplane/logging';

export interface RateLimitOptions {
  redis: Redis;
  keyPrefix: string;
  max: number;
  windowSeconds: number;
  logger: Logger;
  /** How long to wait for Redis before treating it as down. */
  timeoutMs?: number;
}

// INCR and set the expiry in one step, so a crash between them cannot leave a key without TTL.
const INCREMENT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count`;

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A fixed-window limiter counted in Redis, so every replica spends one budget per API key (or
 * client IP for anonymous calls). When Redis is unreachable, reads pass (fail open) and writes
 * get 503, and the outage is logged once per minute.
 */
export class RateLimiter {
  private lastOutageLog = 0;

  constructor(private readonly options: RateLimitOptions) {}

  identity(req: Request): string {
    return req.principal ? req.principal.id : `ip:${req.ip ?? 'unknown'}`;
  }

  async hit(identity: string, now = Date.now()): Promise<{ count: number; reset: number }> {
    const windowMs = this.options.windowSeconds * 1000;
    const window = Math.floor(now / windowMs);
    const key = `${this.options.keyPrefix}:ratelimit:${identity}:${window}`;
    const count = await withTimeout(
      this.options.redis.eval(INCREMENT, 1, key, String(windowMs)) as Promise<number>,
      this.options.timeoutMs ?? 250,
    );
    return { count: Number(count), reset: Math.ceil(((window + 1) * windowMs) / 1000) };
  }

  middleware() {
    return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
      const { max } = this.options;
      res.setHeader('X-Rate-Limit-Limit', String(max));
      let usage: { count: number; reset: number };
      try {
        usage = await this.hit(this.identity(req));
      } catch (error) {
        this.logOutage(error);
        const reset = Math.ceil(Date.now() / 1000) + this.options.windowSeconds;
        res.setHeader('X-Rate-Limit-Remaining', String(max));
        res.setHeader('X-Rate-Limit-Reset', String(reset));
        if (READ_METHODS.has(req.method)) return next();
        return next(new AppError('unavailable', 'rate limiting is unavailable; retry shortly'));
      }

      const remaining = Math.max(0, max - usage.count);
      res.setHeader('X-Rate-Limit-Remaining', String(remaining));
      res.setHeader('X-Rate-Limit-Reset', String(usage.reset));
      if (usage.count > max) {
        const retryAfter = Math.max(1, usage.reset - Math.floor(Date.now() / 1000));
        return next(
          new AppError('resource_exhausted', `rate limit of ${max} requests per ${this.options.windowSeconds} s exceeded`, {
            status: 429,
            headers: { 'Retry-After': String(retryAfter) },
            details: { limit: max, windowSeconds: this.options.windowSeconds, retryAfterSeconds: retryAfter },
          }),
        );
      }
      next();
    };
  }

  private logOutage(error: unknown): void {
    const now = Date.now();
    if (now - this.lastOutageLog < 60_000) return;
    this.lastOutageLog = now;
    this.options.logger.warn('rate limiter cannot reach redis: reads pass, writes get 503', {
      err: error instanceof Error ? error.message : String(error),
    });
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`redis did not answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
