import { randomUUID } from 'node:crypto';

import type { NextFunction, Request, Response } from 'express';

import type { Logger } from '@castplane/logging';

/** Accepted incoming request ids: 8 to 64 letters, digits, `-` or `_`. Anything else is replaced. */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;

/** Assigns the request id and a child logger, and writes one access log line per request. */
export function requestContext(logger: Logger, listener: string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const incoming = req.get('x-request-id');
    req.requestId = incoming && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID();
    // Most requests never log from a handler, so the child logger is built on first use.
    let child: Logger | undefined;
    Object.defineProperty(req, 'log', {
      configurable: true,
      get: () => (child ??= logger.child({ requestId: req.requestId })),
    });
    req.valid = { params: {}, query: {}, body: undefined };
    res.setHeader('X-Request-Id', req.requestId);

    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const level = res.statusCode >= 500 ? 'error' : 'info';
      const route = routeLabel(req);
      logger.log(level, 'request completed', {
        requestId: req.requestId,
        listener,
        method: req.method,
        // A matched route logs its template and params, and secret ones such as `streamKey` are
        // redacted by name. An unmatched request logs only the first segments of its path, since
        // a mistyped route can still carry a key. Query strings are never logged.
        route,
        params: route !== 'unmatched' && Object.keys(req.params ?? {}).length > 0 ? req.params : undefined,
        path: route === 'unmatched' ? req.path.split('/').slice(0, 3).join('/') : undefined,
        status: res.statusCode,
        durationMs: Math.round(durationMs * 100) / 100,
        principal: req.principal?.id,
      });
    });
    next();
  };
}

/** Returns the matched route template, never the raw path, whose ids would explode metric labels. */
export function routeLabel(req: Request): string {
  const route = req.route as { path?: string } | undefined;
  if (route?.path) return `${req.baseUrl}${route.path}`;
  return 'unmatched';
}
