import type { Server } from 'node:http';

import type express from 'express';
import type Redis from 'ioredis';

import { createAuthenticator, loadApiKeys } from '@castplane/auth';
import type { Authenticate } from '@castplane/auth';
import type { BaseConfig } from '@castplane/config';
import { ConfigError, describeConfig } from '@castplane/config';
import { createLogger } from '@castplane/logging';
import type { Logger } from '@castplane/logging';
import { closeRedis, createRedis, pingRedis } from '@castplane/redis';
import type { QueueContext } from '@castplane/redis';

import type { Lifecycle, ReadinessCheck } from './app';
import { boundPort, createHttpApp, listen } from './app';
import { Metrics } from './metrics';
import { RateLimiter } from './rate-limit';
import type { RouteDefinition } from './routes';
import { Shutdown } from './shutdown';

export const VERSION = '0.1.0';

export interface RuntimeOptions {
  service: string;
  config: BaseConfig & { API_KEYS_FILE?: string };
  /** Names of the config values that are secret: never logged, scrubbed from any log text. */
  secrets: readonly string[];
  /** Captures log lines in tests; stdout otherwise. */
  logStream?: NodeJS.WritableStream;
  exit?: (code: number) => void;
}

/**
 * The parts every service is built from: logger, Redis, queue context, auth, rate limiter,
 * metrics and an ordered shutdown. A service adds its own readiness checks and listeners.
 */
export class Runtime {
  readonly logger: Logger;
  readonly redis: Redis;
  readonly queues: QueueContext;
  readonly metrics: Metrics;
  readonly lifecycle: Lifecycle = { draining: false, startedAt: Date.now() };
  readonly shutdown: Shutdown;
  readonly authenticate: Authenticate;
  readonly rateLimiter: RateLimiter;
  readonly readiness: ReadinessCheck[] = [];
  readonly ports: Record<string, number> = {};

  constructor(private readonly options: RuntimeOptions) {
    const { config, service } = options;
    const secretValues = options.secrets
      .map((name) => (config as unknown as Record<string, unknown>)[name])
      .filter((value): value is string => typeof value === 'string');
    this.logger = createLogger({
      service,
      level: config.LOG_LEVEL,
      version: VERSION,
      env: config.NODE_ENV,
      stream: options.logStream as never,
      secrets: secretValues,
    });
    this.redis = createRedis(config.REDIS_URL, { name: service, logger: this.logger });
    this.queues = { redisUrl: config.REDIS_URL, prefix: config.REDIS_KEY_PREFIX, logger: this.logger };
    this.metrics = new Metrics(service);
    this.shutdown = new Shutdown({
      logger: this.logger,
      lifecycle: this.lifecycle,
      timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
      exit: options.exit,
    });
    this.authenticate = createAuthenticator({
      jwtSecret: config.AUTH_JWT_SECRET,
      jwtIssuer: config.AUTH_JWT_ISSUER,
      apiKeys: loadApiKeys(config.API_KEYS, config.API_KEYS_FILE),
    });
    this.rateLimiter = new RateLimiter({
      redis: this.redis,
      keyPrefix: config.REDIS_KEY_PREFIX,
      max: config.RATE_LIMIT_MAX,
      windowSeconds: config.RATE_LIMIT_WINDOW_SECONDS,
      logger: this.logger,
    });
    this.readiness.push({ name: 'redis', check: () => pingRedis(this.redis) });
    this.logger.info('configuration loaded', { config: describeConfig(config, options.secrets) });
  }

  /** Builds a listener's app with the shared auth, limiter, metrics and readiness checks. */
  createApp(
    listener: string,
    routes: RouteDefinition[],
    extra: { readiness?: ReadinessCheck[]; mount?: (app: express.Express) => void } = {},
  ): express.Express {
    return createHttpApp({
      service: this.options.service,
      listener,
      version: VERSION,
      logger: this.logger,
      metrics: this.metrics,
      lifecycle: this.lifecycle,
      readiness: [...this.readiness, ...(extra.readiness ?? [])],
      authenticate: this.authenticate,
      rateLimiter: this.rateLimiter,
      bodyLimit: this.options.config.BODY_LIMIT,
      routes,
      mount: extra.mount,
    });
  }

  /** Listens, records the bound port under `listener` and registers the server for shutdown. */
  async listen(listener: string, app: express.Express, port: number): Promise<Server> {
    await this.redisConnected(3000);
    const server = await listen(app, port, this.options.config.HOST);
    this.shutdown.addServer(server);
    this.ports[listener] = boundPort(server);
    this.logger.info('listening', { listener, url: `http://${this.options.config.HOST}:${this.ports[listener]}` });
    return server;
  }

  /**
   * Waits up to `timeoutMs` for the first Redis connection, so the first requests do not meet a
   * connecting client. A Redis that stays down does not stop startup: `/ready` reports it.
   */
  private async redisConnected(timeoutMs: number): Promise<void> {
    if (this.redis.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      timer.unref();
      this.redis.once('ready', done);
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  /** Registers the Redis connection as the last shutdown step; call after all other steps. */
  closeRedisLast(): void {
    this.shutdown.register('redis', () => closeRedis(this.redis));
  }
}

/** The handles a service's start function returns. */
export interface RunningService {
  logger: Logger;
  shutdown: Shutdown;
  ports: Record<string, number>;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Process entry point: starts the service, stops it on SIGTERM or SIGINT, and exits non-zero
 * with every config problem listed when the environment is invalid.
 */
export function runMain(service: string, start: () => Promise<RunningService>): void {
  Promise.resolve()
    .then(start)
    .then((running) => {
      const stop = (signal: string) => {
        void running.shutdown.run(signal).then(() => process.exit(0));
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    })
    .catch((error: unknown) => {
      const line = {
        time: new Date().toISOString(),
        level: 'error',
        service,
        msg: error instanceof ConfigError ? 'invalid configuration' : 'startup failed',
        problems: error instanceof ConfigError ? error.problems : undefined,
        err: error instanceof ConfigError ? undefined : describeError(error),
      };
      process.stderr.write(`${JSON.stringify(line)}\n`);
      process.exit(1);
    });
}
