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

// INCRBY and set the expiry in one step, so a crash between them cannot leave a key without TTL.
const INCREMENT = `
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
if count == tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count`;

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

interface WindowState {
  window: number;
  /** The shared count Redis returned at the last sync. */
  known: number;
  /** Requests allowed here and not yet added to Redis. */
  pending: number;
  /** Requests being added to Redis by the flush in progress. */
  flushingCount: number;
  flushing?: Promise<void>;
}

/** How often counts allowed far from the limit are flushed to Redis. */
const FLUSH_INTERVAL_MS = 50;

/**
 * A fixed-window limiter counted in Redis, so every replica spends one budget per API key (or
 * client IP for anonymous calls). When Redis is unreachable, reads pass (fail open) and writes
 * get 503, and the outage is logged once per minute.
 *
 * While a principal is far from its limit, requests are counted in memory and added to Redis in
 * one INCRBY every {@link FLUSH_INTERVAL_MS}, which saves a round trip per request. Within the
 * sync margin (a tenth of the limit, at least 10 requests) every request goes to Redis, so the
 * 429 boundary is exact for one replica.
 * NOTE: several replicas that all sit just outside the margin can together pass the limit by at
 * most what they allow in one flush interval before their next sync.
 */
export class RateLimiter {
  private lastOutageLog = 0;
  private readonly windows = new Map<string, WindowState>();
  private readonly margin: number;
  private readonly maxText: string;

  constructor(private readonly options: RateLimitOptions) {
    this.margin = Math.max(10, Math.ceil(options.max / 10));
    this.maxText = String(options.max);
  }

  identity(req: Request): string {
    return req.principal ? req.principal.id : `ip:${req.ip ?? 'unknown'}`;
  }

  /** Counts one request and returns the shared count (estimated far from the limit). */
  async hit(identity: string, now = Date.now()): Promise<{ count: number; reset: number }> {
    return this.hitLocally(identity, now) ?? this.hitRedis(identity, now);
  }

  /**
   * Counts the request in memory when the principal is far from its limit and returns its
   * estimated count. Returns undefined when the request must be counted in Redis.
   */
  private hitLocally(identity: string, now: number): { count: number; reset: number } | undefined {
    const state = this.windowState(identity, now);
    const estimate = state.known + state.flushingCount + state.pending + 1;
    if (state.known <= 0 || this.options.max - estimate <= this.margin) return undefined;
    state.pending += 1;
    this.scheduleFlush(identity, state);
    return { count: estimate, reset: this.resetOf(state.window) };
  }

  private async hitRedis(identity: string, now: number): Promise<{ count: number; reset: number }> {
    const state = this.windowState(identity, now);
    const increment = state.pending + 1;
    state.pending = 0;
    try {
      state.known = await this.increment(identity, state.window, increment);
    } catch (error) {
      state.pending += increment - 1;
      throw error;
    }
    return { count: state.known, reset: this.resetOf(state.window) };
  }

  /** Returns the counts of the identity's current window, starting a new window when it changed. */
  private windowState(identity: string, now: number): WindowState {
    const window = Math.floor(now / (this.options.windowSeconds * 1000));
    let state = this.windows.get(identity);
    if (!state || state.window !== window) {
      state = { window, known: 0, pending: 0, flushingCount: 0 };
      this.windows.set(identity, state);
      this.evictOld(window);
    }
    return state;
  }

  /** Returns the end of a window in epoch seconds, the value of `X-Rate-Limit-Reset`. */
  private resetOf(window: number): number {
    return Math.ceil(((window + 1) * this.options.windowSeconds * 1000) / 1000);
  }

  private async increment(identity: string, window: number, by: number): Promise<number> {
    const windowMs = this.options.windowSeconds * 1000;
    const key = `${this.options.keyPrefix}:ratelimit:${identity}:${window}`;
    const count = await withTimeout(
      this.options.redis.eval(INCREMENT, 1, key, String(windowMs), String(by)) as Promise<number>,
      this.options.timeoutMs ?? 250,
    );
    return Number(count);
  }

  private scheduleFlush(identity: string, state: WindowState): void {
    if (state.flushing) return;
    state.flushing = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        const by = state.pending;
        state.pending = 0;
        state.flushingCount = by;
        this.increment(identity, state.window, by)
          .then((count) => {
            state.known = count;
          })
          .catch(() => {
            state.pending += by;
          })
          .finally(() => {
            state.flushingCount = 0;
            state.flushing = undefined;
            resolve();
          });
      }, FLUSH_INTERVAL_MS);
      timer.unref();
    });
  }

  private evictOld(window: number): void {
    if (this.windows.size < 10_000) return;
    for (const [identity, state] of this.windows) {
      if (state.window !== window && !state.flushing) this.windows.delete(identity);
    }
  }

  /**
   * Returns the middleware. A request counted in memory continues without waiting for a promise,
   * and only a request that goes to Redis waits for it.
   */
  middleware() {
    return (req: Request, res: Response, next: NextFunction): void | Promise<void> => {
      res.setHeader('X-Rate-Limit-Limit', this.maxText);
      const identity = this.identity(req);
      const now = Date.now();
      const usage = this.hitLocally(identity, now);
      if (usage) return this.decide(req, res, next, usage);
      return this.hitRedis(identity, now).then(
        (counted) => this.decide(req, res, next, counted),
        (error: unknown) => this.failOpen(req, res, next, error),
      );
    };
  }

  /** Sets the remaining budget and rejects with 429 once the count is past the limit. */
  private decide(req: Request, res: Response, next: NextFunction, usage: { count: number; reset: number }): void {
    const { max } = this.options;
    res.setHeader('X-Rate-Limit-Remaining', String(Math.max(0, max - usage.count)));
    res.setHeader('X-Rate-Limit-Reset', String(usage.reset));
    if (usage.count <= max) return next();

    const retryAfter = Math.max(1, usage.reset - Math.floor(Date.now() / 1000));
    next(
      new AppError('resource_exhausted', `rate limit of ${max} requests per ${this.options.windowSeconds} s exceeded`, {
        status: 429,
        headers: { 'Retry-After': String(retryAfter) },
        details: [{ field: limitedBy(req), message: `more than ${max} requests in ${this.options.windowSeconds} s, retry in ${retryAfter} s` }],
      }),
    );
  }

  /** Lets reads through and rejects writes with 503 while Redis cannot be reached. */
  private failOpen(req: Request, res: Response, next: NextFunction, error: unknown): void {
    const { max } = this.options;
    this.logOutage(error);
    const reset = Math.ceil(Date.now() / 1000) + this.options.windowSeconds;
    res.setHeader('X-Rate-Limit-Remaining', String(max));
    res.setHeader('X-Rate-Limit-Reset', String(reset));
    if (READ_METHODS.has(req.method)) return next();
    next(new AppError('unavailable', 'rate limiting is unavailable; retry shortly'));
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
      timer = setTimeout(() => reject(new Error(`redis did not respond within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Names what the limit counted: the credential a principal sent, or the client IP. */
function limitedBy(req: Request): string {
  if (!req.principal) return 'ip';
  return req.headers['x-api-key'] ? 'headers.x-api-key' : 'headers.authorization';
}
