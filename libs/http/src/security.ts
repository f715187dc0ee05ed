import type { NextFunction, Request, Response } from 'express';

import type { Authenticate, Scope } from '@castplane/auth';
import { hasScope } from '@castplane/auth';
import { permissionDenied, unauthenticated } from '@castplane/errors';

/** Resolves credentials without rejecting, so the rate limiter can key on the principal. */
export function identify(authenticate: Authenticate) {
  return async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
    const outcome = await authenticate({
      authorization: req.headers.authorization,
      'x-api-key': req.headers['x-api-key'],
    });
    if (outcome.status === 'authenticated') req.principal = outcome.principal;
    if (outcome.status === 'rejected') req.authError = outcome.message;
    next();
  };
}

/** Rejects with 401 without valid credentials and with 403 without the scope. */
export function requireScope(scope: Scope) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (!req.principal) {
      next(unauthenticated(req.authError ?? 'credentials are required: send Authorization: Bearer <token> or X-API-Key'));
      return;
    }
    if (!hasScope(req.principal.scopes, scope)) {
      next(permissionDenied(`this route needs the "${scope}" scope`));
      return;
    }
    next();
  };
}
