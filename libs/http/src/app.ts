import type { Server } from 'node:http';

import express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';

import type { Authenticate } from '@castplane/auth';
import { AppError } from '@castplane/errors';
import type { Logger } from '@castplane/logging';

import { errorHandler, notFoundHandler } from './errors';
import type { ErrorFormatter } from './errors';
import type { Metrics } from './metrics';
import { buildOpenApi } from './openapi';
import type { RateLimiter } from './rate-limit';
import { requestContext } from './request-context';
import type { RouteDefinition } from './routes';
import { identify, requireScope } from './security';
import { validateRequest } from './validation';

/** A dependency that `/ready` checks; `check` rejects when the dependency is down. */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<unknown>;
}

/** Shared between a process's listeners: set when shutdown starts so `/ready` fails first. */
export interface Lifecycle {
  draining: boolean;
  startedAt: number;
}

export interface HttpAppOptions {
  service: string;
  listener: string;
  version: string;
  logger: Logger;
  metrics: Metrics;
  lifecycle: Lifecycle;
  readiness: ReadinessCheck[];
  authenticate: Authenticate;
  rateLimiter?: RateLimiter;
  bodyLimit?: string;
  routes: RouteDefinition[];
  /** Extra routes mounted before the API routes, outside auth (for example static media). */
  mount?: (app: express.Express) => void;
  readinessTimeoutMs?: number;
}

const JSON_TYPES = ['application/json'];

function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/** Rejects a body whose Content-Type the route does not read, before anything is parsed. */
function requireContentType(types: string[]): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (!hasBody(req) || req.is(types)) return next();
    next(
      new AppError('unsupported_media_type', `Content-Type must be ${types.join(' or ')}`, {
        details: [{ field: 'headers.content-type', message: `expected ${types.join(' or ')}` }],
      }),
    );
  };
}

function useFormatter(formatter: ErrorFormatter): RequestHandler {
  return (_req, res, next) => {
    res.locals.formatError = formatter;
    next();
  };
}

function bodyParsers(route: RouteDefinition, limit: string): RequestHandler[] {
  const routeLimit = route.bodyLimit ?? limit;
  switch (route.bodyType ?? 'json') {
    case 'json':
      return route.method === 'get' || route.method === 'delete'
        ? []
        : [requireContentType(JSON_TYPES), express.json({ limit: routeLimit, type: JSON_TYPES, strict: false })];
    case 'raw': {
      const types = route.rawTypes ?? ['application/octet-stream'];
      return [requireContentType(types), express.raw({ limit: routeLimit, type: types })];
    }
    default:
      return [];
  }
}

/**
 * Returns the headers helmet would set. Helmet runs once at startup against a recording response,
 * because its chain of small middleware cost a noticeable share of a request on every call.
 */
function securityHeaders(): [string, string][] {
  const headers: [string, string][] = [];
  const recorder = {
    setHeader: (name: string, value: string | number | readonly string[]) => {
      headers.push([name, String(value)]);
    },
    removeHeader: () => undefined,
  };
  // The listeners serve JSON and media, never pages, so the policy forbids every source. Helmet's
  // default directives are written for HTML pages and would add about 300 bytes to every response.
  helmet({ contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } } })(
    {} as Request,
    recorder as unknown as Response,
    () => undefined,
  );
  return headers;
}

/**
 * Runs a route's middleware as one Express handler. Each extra layer in Express's router costs
 * its own matching and parameter step on every request, and a route has about eight of them.
 * Errors, thrown or rejected, go to Express's error handlers as usual.
 */
function compose(handlers: RequestHandler[]): RequestHandler {
  return (req, res, done) => {
    let index = 0;
    const next = (error?: unknown): void => {
      if (error !== undefined && error !== null) {
        done(error);
        return;
      }
      const handler = handlers[index];
      index += 1;
      if (!handler) {
        done();
        return;
      }
      try {
        const result: unknown = handler(req, res, next);
        if (isPromiseLike(result)) result.then(undefined, done);
      } catch (thrown) {
        done(thrown);
      }
    };
    next();
  };
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

/**
 * Mounts a handler that rejects with 405 and an `Allow` header for a known path called with another method. Routes that
 * write their errors in a protocol's own shape (Twirp, SRS) keep that protocol's answer instead.
 */
function mountMethodNotAllowed(app: express.Express, routes: readonly RouteDefinition[]): void {
  const methods = new Map<string, Set<string>>();
  for (const route of routes) {
    if (route.formatError) continue;
    const allowed = methods.get(route.path) ?? new Set<string>();
    allowed.add(route.method.toUpperCase());
    if (route.method === 'get') allowed.add('HEAD');
    methods.set(route.path, allowed);
  }
  for (const [path, allowed] of methods) {
    const allow = [...allowed].join(', ');
    app.all(path, (req, _res, next) => {
      next(
        new AppError('method_not_allowed', `${req.method} is not allowed on ${req.route?.path ?? path}; use ${allow}`, {
          headers: { Allow: allow },
          details: [{ field: 'method', message: `allowed: ${allow}` }],
        }),
      );
    });
  }
}

async function runChecks(checks: ReadinessCheck[], timeoutMs: number) {
  const results = await Promise.all(
    checks.map(async ({ name, check }) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no response within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return [name, { status: 'up' }] as const;
      } catch (error) {
        return [name, { status: 'down', error: error instanceof Error ? error.message : String(error) }] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return Object.fromEntries(results) as Record<string, { status: 'up' | 'down'; error?: string }>;
}

/**
 * Returns one middleware that sends `/health`, `/ready`, `/metrics` and `/openapi.json` to their
 * own router and every other path straight on. The router's layers are then tried only for these
 * four paths, not before every API route, and the open routes still come before `mount` and the
 * route table, as they would as separate layers.
 */
function openRoutes(options: HttpAppOptions): RequestHandler {
  const router = express.Router();
  router.get('/health', (_req, res) => {
    res.json({ status: 'ok', service: options.service, uptimeSeconds: Math.round(process.uptime()) });
  });
  router.get('/ready', async (_req, res) => {
    const checks = await runChecks(options.readiness, options.readinessTimeoutMs ?? 1500);
    const failing = Object.entries(checks).filter(([, result]) => result.status === 'down').map(([name]) => name);
    if (options.lifecycle.draining) failing.unshift('shutdown');
    const ready = failing.length === 0;
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'not_ready',
      service: options.service,
      failing,
      checks,
    });
  });
  router.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', options.metrics.registry.contentType);
    res.send(await options.metrics.registry.metrics());
  });
  const openapi = buildOpenApi({ title: `${options.service} ${options.listener} API`, version: options.version }, options.routes);
  router.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });

  // Express matches routes ignoring letter case and one trailing slash, and so does this check.
  const paths = new Set(['/health', '/ready', '/metrics', '/openapi.json']);
  return (req, res, next) => {
    const path = req.path.toLowerCase();
    if (paths.has(path) || (path.endsWith('/') && paths.has(path.slice(0, -1)))) router(req, res, next);
    else next();
  };
}

/**
 * Builds one listener's Express app: request id, security headers, access log and metrics, the
 * open `/health`, `/ready`, `/metrics` and `/openapi.json`, then the route table with auth, rate
 * limit, body parsing and joi validation, then the 404 and error envelopes.
 */
export function createHttpApp(options: HttpAppOptions): express.Express {
  const app = express();
  const limit = options.bodyLimit ?? '1mb';
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.set('query parser', 'simple');

  // One router layer for both, since each layer before the route table costs every request.
  const context = requestContext(app, {
    logger: options.logger,
    listener: options.listener,
    metrics: options.metrics,
    headers: securityHeaders(),
  });
  app.use(compose([context, openRoutes(options)]));

  options.mount?.(app);

  const authenticate = identify(options.authenticate);
  for (const route of options.routes) {
    const chain: RequestHandler[] = [];
    if (route.formatError) chain.push(useFormatter(route.formatError));
    chain.push(authenticate);
    if (options.rateLimiter && route.rateLimit !== false) chain.push(options.rateLimiter.middleware());
    if (route.auth !== 'none') chain.push(requireScope(route.auth));
    chain.push(...bodyParsers(route, limit));
    chain.push(...(route.before ?? []));
    chain.push(validateRequest(route.validate ?? {}));
    chain.push((req, res) => route.handler(req as never, res));
    app[route.method](route.path, compose(chain));
  }

  mountMethodNotAllowed(app, options.routes);
  app.use(notFoundHandler());
  app.use(errorHandler());
  return app;
}

/** Listens on `host:port` (0 picks a free port) and resolves with the bound server. */
export function listen(app: express.Express | ((req: Request, res: Response) => void), port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = (app as express.Express).listen(port, host, (error?: Error) => {
      if (error) reject(error);
      else resolve(server);
    });
    server.keepAliveTimeout = 5000;
    server.on('error', reject);
  });
}

export function boundPort(server: Server): number {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}
