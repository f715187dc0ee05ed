import { randomUUID } from 'node:crypto';

import type { Express, NextFunction, Request, Response } from 'express';

import type { Logger } from '@castplane/logging';

import type { Metrics } from './metrics';

/** Accepted incoming request ids: 8 to 64 letters, digits, `-` or `_`. Anything else is replaced. */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;

export interface RequestContextOptions {
  logger: Logger;
  listener: string;
  metrics: Metrics;
  /** Headers set on every response after `X-Request-Id`, for example the security headers. */
  headers?: readonly (readonly [string, string])[];
}

const STARTED_AT = Symbol('startedAt');
const CHILD_LOGGER = Symbol('childLogger');

type TimedResponse = Response & { [STARTED_AT]: bigint };
type RequestWithChild = Request & { [CHILD_LOGGER]?: Logger };

/**
 * Defines `req.log` once on the app's request prototype. Most requests never log from a handler,
 * so the child logger is built on first use and kept on the request.
 */
function defineRequestLog(app: Express, logger: Logger): void {
  Object.defineProperty(app.request, 'log', {
    configurable: true,
    get(this: RequestWithChild): Logger {
      this[CHILD_LOGGER] ??= logger.child({ requestId: this.requestId });
      return this[CHILD_LOGGER];
    },
    set(this: RequestWithChild, value: Logger) {
      this[CHILD_LOGGER] = value;
    },
  });
}

/**
 * Returns the first middleware of a listener. It assigns the request id and sets `X-Request-Id`
 * and the fixed headers. When the response finishes, it records the request's metrics and writes
 * one access log line, through one `finish` listener shared by every request.
 */
export function requestContext(app: Express, options: RequestContextOptions) {
  const { logger, listener, metrics } = options;
  const headers = options.headers ?? [];
  defineRequestLog(app, logger);

  function finished(this: TimedResponse): void {
    const req = this.req as Request;
    const durationMs = Number(process.hrtime.bigint() - this[STARTED_AT]) / 1e6;
    const route = routeLabel(req);
    metrics.observe(listener, req.method, route, this.statusCode, durationMs / 1000);
    logger.log(this.statusCode >= 500 ? 'error' : 'info', 'request completed', {
      requestId: req.requestId,
      listener,
      method: req.method,
      // A matched route logs its template and params, and secret ones such as `streamKey` are
      // redacted by name. An unmatched request logs only the first segments of its path, since
      // a mistyped route can still carry a key. Query strings are never logged.
      route,
      params: route !== 'unmatched' && Object.keys(req.params ?? {}).length > 0 ? req.params : undefined,
      path: route === 'unmatched' ? req.path.split('/').slice(0, 3).join('/') : undefined,
      status: this.statusCode,
      durationMs: Math.round(durationMs * 100) / 100,
      principal: req.principal?.id,
    });
  }

  return (req: Request, res: Response, next: NextFunction): void => {
    (res as TimedResponse)[STARTED_AT] = process.hrtime.bigint();
    const incoming = req.headers['x-request-id'];
    req.requestId = typeof incoming === 'string' && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID();
    req.valid = { params: {}, query: {}, body: undefined };
    res.setHeader('X-Request-Id', req.requestId);
    for (const [name, value] of headers) res.setHeader(name, value);
    res.on('finish', finished);
    next();
  };
}

/** Returns the matched route template, never the raw path, whose ids would explode metric labels. */
export function routeLabel(req: Request): string {
  const route = req.route as { path?: string } | undefined;
  if (route?.path) return `${req.baseUrl}${route.path}`;
  return 'unmatched';
}
