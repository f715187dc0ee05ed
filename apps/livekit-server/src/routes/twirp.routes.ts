import express from 'express';
import type { Request, Response } from 'express';
import type Joi from 'joi';

import { AppError } from '@castplane/errors';
import { defineRoute } from '@castplane/http';
import type { RouteDefinition } from '@castplane/http';

import type { TokenService } from '../services/token.service';
import { requireGrant, verifyTwirpToken } from '../twirp/twirp.auth';
import { twirpError, writeTwirpBody, writeTwirpError } from '../twirp/twirp.errors';
import type { TwirpMethod } from '../twirp/twirp.types';

const IMPLEMENTED_SERVICES = ['livekit.RoomService', 'livekit.Egress'];

// The largest request body a Twirp method accepts. The largest valid request is a SendData of
// about 128 KiB of base64, so 1 MB leaves room for JSON overhead.
const TWIRP_BODY_LIMIT = '1mb';
const parseJson = express.json({ limit: TWIRP_BODY_LIMIT, type: 'application/json', strict: false });

function badRoute(method: string, path: string) {
  return twirpError('bad_route', `no handler for path "${path}"`, { twirp_invalid_route: `${method} ${path}` });
}

function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

// Reads the JSON body only after the token is verified, so an unauthenticated caller cannot
// make the server buffer and parse a large body.
async function readJsonBody(req: Request, res: Response): Promise<unknown> {
  if (hasBody(req) && !req.is('application/json')) {
    throw new AppError('unsupported_media_type', 'Content-Type must be application/json', {
      details: [{ field: 'headers.content-type', message: 'expected application/json' }],
    });
  }
  await new Promise<void>((resolve, reject) => {
    parseJson(req, res, (error?: unknown) => (error ? reject(error) : resolve()));
  });
  return req.body;
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
 * routes check LiveKit service tokens themselves (auth `none` for the platform's own auth) and
 * read the body only after the token verifies (`bodyType: 'none'`).
 */
export function twirpRoutes(tokens: TokenService, services: Record<string, Record<string, TwirpMethod>>): RouteDefinition[] {
  const handler = async (req: Request, res: Response) => {
    const method = services[String(req.params.service)]?.[String(req.params.method)];
    if (!method) throw badRoute(req.method, req.path);
    const grant = await verifyTwirpToken(req, tokens);
    const raw = await readJsonBody(req, res);
    requireGrant(grant, method.grant, raw);
    const body = validateBody(method.schema, raw);
    writeTwirpBody(res, await method.run(body));
  };
  return [
    defineRoute({
      method: 'post',
      path: '/twirp/:service/:method',
      summary: 'LiveKit Twirp API (RoomService and the Egress subset)',
      tags: ['livekit'],
      auth: 'none',
      bodyType: 'none',
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
