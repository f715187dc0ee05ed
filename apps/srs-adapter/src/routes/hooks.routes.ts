import type { NextFunction, Request, Response } from 'express';

import type { AppError } from '@castplane/errors';
import { unauthenticated } from '@castplane/errors';
import type { ErrorFormatter, RouteDefinition } from '@castplane/http';
import { defineRoute } from '@castplane/http';

import { HOOK_ACTIONS, hookBodySchema, hookQuerySchema } from '../schemas/hook.schemas';
import type { HookAction, SrsHookBody } from '../schemas/hook.schemas';
import { secretsEqual } from '../services/credentials';
import type { HookDecision, HookService } from '../services/hook.service';

/** SRS reads only `code`: 0 allows, anything else (or a non-200 status) denies. */
const srsError: ErrorFormatter = (error: AppError, _req, res) => {
  res.status(error.status).json({ code: error.status });
};

function requireSecret(secret: string) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const given = typeof req.query.secret === 'string' ? req.query.secret : '';
    next(secretsEqual(given, secret) ? undefined : unauthenticated('missing or invalid callback secret'));
  };
}

function decide(hooks: HookService, action: HookAction, body: SrsHookBody): Promise<HookDecision> {
  switch (action) {
    case 'on_publish': return hooks.onPublish(body);
    case 'on_unpublish': return hooks.onUnpublish(body);
    case 'on_play': return hooks.onPlay(body);
    case 'on_stop': return hooks.onStop(body);
    case 'on_dvr': return hooks.onDvr(body);
    default: return Promise.resolve({ allow: true, reason: 'ignored' });
  }
}

/**
 * SRS's HTTP callbacks. The shared secret travels in the callback URL's query string, because
 * SRS cannot sign its requests. An allowed action gets HTTP 200 `{"code":0}`, a denied one
 * HTTP 403 `{"code":403}`.
 */
export function hookRoutes(hooks: HookService, secret: string): RouteDefinition[] {
  return HOOK_ACTIONS.map((action) =>
    defineRoute({
      method: 'post', path: `/webhooks/srs/${action}`, summary: `SRS ${action} callback`, tags: ['srs-callbacks'],
      auth: 'none', rateLimit: false, bodyLimit: '64kb', formatError: srsError, before: [requireSecret(secret)],
      validate: { query: hookQuerySchema, body: hookBodySchema.required() },
      handler: async (req, res) => {
        const decision = await decide(hooks, action, req.valid.body as SrsHookBody);
        if (decision.allow) res.status(200).json({ code: 0 });
        else res.status(403).json({ code: 403 });
      },
    }),
  );
}

