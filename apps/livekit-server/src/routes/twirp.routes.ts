import type express from 'express';
import type { Request, Response } from 'express';
import type Joi from 'joi';

import { defineRoute } from '@castplane/http';
import type { RouteDefinition } from '@castplane/http';

import type { TokenService } from '../services/token.service';
import { authorizeTwirp } from '../twirp/twirp.auth';
import { twirpError, writeTwirpBody, writeTwirpError } from '../twirp/twirp.errors';
import type { TwirpMethod } from '../twirp/twirp.types';

const IMPLEMENTED_SERVICES = ['livekit.RoomService', 'livekit.Egress'];

function badRoute(method: string, path: string) {
  return twirpError('bad_route', `no handler for path "${path}"`, { twirp_invalid_route: `${method} ${path}` });
}

function validateBody(schema: Joi.ObjectSchema, body: unknown) {
  const { error, value } = schema.validate(body ?? {}, { abortEarly: true, errors: { wrap: { label: false } } });
  if (error) {
    const detail = error.details[0];
    throw twirpError('invalid_argument', detail.message, { argument: detail.path.join('.') });
  }
  return value as Record<string, unknown>;
}

/**
 * `POST /twirp/livekit.<Service>/<Method>`: LiveKit's API as livekit-server-sdk calls it. These
 * routes check LiveKit service tokens themselves (auth `none` for the platform's own auth).
 */
export function twirpRoutes(tokens: TokenService, services: Record<string, Record<string, TwirpMethod>>): RouteDefinition[] {
  const handler = async (req: Request, res: Response) => {
    const method = services[String(req.params.service)]?.[String(req.params.method)];
    if (!method) throw badRoute(req.method, req.path);
    await authorizeTwirp(req, tokens, method.grant);
    const body = validateBody(method.schema, req.body);
    writeTwirpBody(res, await method.run(body));
  };
  return [
    defineRoute({
      method: 'post',
      path: '/twirp/:service/:method',
      summary: 'LiveKit Twirp API (RoomService and the Egress subset)',
      tags: ['livekit'],
      auth: 'none',
      bodyLimit: '10mb',
      formatError: writeTwirpError,
      handler,
    }),
  ];
}

/** Any other method on a Twirp path is a `bad_route`, as in the Go Twirp server. */
export function mountTwirpFallback(app: express.Express): void {
  app.use('/twirp', (req, res, next) => {
    const service = req.path.split('/')[1] ?? '';
    if (req.method === 'POST' && IMPLEMENTED_SERVICES.includes(service)) return next();
    writeTwirpError(badRoute(req.method, `/twirp${req.path}`), req, res);
  });
}
