import type { NextFunction, Request, Response } from 'express';

import type { AuthOutcome, Authenticate, Scope } from '@castplane/auth';
import { hasScope } from '@castplane/auth';
import { permissionDenied, unauthenticated } from '@castplane/errors';

/**
 * Resolves credentials without rejecting, so the rate limiter can key on the principal. Only a
 * bearer token that is not yet verified makes the request wait for a promise.
 */
export function identify(authenticate: Authenticate) {
  return (req: Request, _res: Response, next: NextFunction): void | Promise<void> => {
    const headers = { authorization: req.headers.authorization, 'x-api-key': req.headers['x-api-key'] };
    const outcome = authenticate.immediate(headers);
    if (outcome) {
      applyOutcome(req, outcome);
      return next();
    }
    return authenticate(headers).then((verified) => {
      applyOutcome(req, verified);
      next();
    });
  };
}

function applyOutcome(req: Request, outcome: AuthOutcome): void {
  if (outcome.status === 'authenticated') req.principal = outcome.principal;
  if (outcome.status === 'rejected') req.authError = outcome.message;
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
