import type { RedisOptions } from 'ioredis';
import Redis from 'ioredis';

import type { Logger } from '@castplane/logging';

/** Reconnect delay: 100 ms, doubling, at most 2 s; ioredis keeps retrying until closed. */
export function backoffDelay(attempt: number): number {
  return Math.min(100 * 2 ** Math.max(0, attempt - 1), 2000);
}

/** Splits a `redis://user:pass@host:port/db` URL into ioredis options. */
export function redisOptionsFromUrl(url: string): RedisOptions {
  const parsed = new URL(url);
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0;
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    db: Number.isInteger(db) ? db : 0,
    tls: parsed.protocol === 'rediss:' ? {} : undefined,
    retryStrategy: backoffDelay,
    connectTimeout: 2000,
  };
}

/**
 * Opens a connection for ordinary commands. A command fails after one retry when Redis is down,
 * so readiness checks and request handlers see the outage instead of hanging.
 */
export function createRedis(url: string, options: { name: string; logger?: Logger }): Redis {
  const redis = new Redis({
    ...redisOptionsFromUrl(url),
    connectionName: options.name,
    maxRetriesPerRequest: 1,
    // Commands issued in the same tick share one write, which matters under request load.
    enableAutoPipelining: true,
  });
  watchConnection(redis, options.name, options.logger);
  return redis;
}

/** Options for BullMQ, whose blocking connections need `maxRetriesPerRequest: null`. */
export function bullConnectionOptions(url: string): RedisOptions {
  return { ...redisOptionsFromUrl(url), maxRetriesPerRequest: null };
}

// Log the first error of an outage and the recovery, not every reconnect attempt.
function watchConnection(redis: Redis, name: string, logger?: Logger): void {
  let failing = false;
  redis.on('error', (error: Error) => {
    if (failing) return;
    failing = true;
    logger?.warn('redis connection failed', { connection: name, err: error.message });
  });
  redis.on('ready', () => {
    if (!failing) return;
    failing = false;
    logger?.info('redis connection restored', { connection: name });
  });
}

/** Resolves when Redis replies to PING within `timeoutMs`, and rejects otherwise. */
export async function pingRedis(redis: Redis, timeoutMs = 1000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`redis did not respond within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([redis.ping(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Closes a connection, falling back to a hard disconnect when QUIT cannot be sent. */
export async function closeRedis(redis: Redis): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([redis.quit(), new Promise((resolve) => (timer = setTimeout(resolve, 500)))]);
  } catch {
    // QUIT fails when the connection is already down; disconnect below is enough.
  } finally {
    clearTimeout(timer);
  }
  redis.disconnect();
}
