import Joi from 'joi';

import { defineRoute } from '@castplane/http';
import type { RouteDefinition } from '@castplane/http';

import { tokenHandlers } from '../handlers/token.handlers';
import { identity, metadata, roomName, videoGrants } from '../schemas/common.schemas';
import type { TokenService } from '../services/token.service';

const token = Joi.string().max(8192).required();

/** Token routes. Generate and refresh need the platform's auth; validate and info take the LiveKit token itself. */
export function tokenRoutes(tokens: TokenService): RouteDefinition[] {
  const handlers = tokenHandlers(tokens);
  const ttl = Joi.number().integer().min(60).max(tokens.maxTtlSeconds);
  return [
    defineRoute({
      method: 'post',
      path: '/api/token/generate',
      summary: 'Issue a LiveKit access token',
      tags: ['tokens'],
      auth: 'write',
      validate: {
        body: Joi.object({
          identity: identity.required(),
          name: Joi.string().max(256),
          room: roomName,
          metadata,
          attributes: Joi.object().pattern(Joi.string().max(256), Joi.string().allow('').max(4096)),
          grants: videoGrants.default({ roomJoin: true }),
          ttlSeconds: ttl,
        }).custom((value, helpers) => (value.grants.roomJoin && !value.room ? helpers.error('any.invalid') : value))
          .messages({ 'any.invalid': 'room is required when grants.roomJoin is true' }),
      },
      handler: handlers.generate,
    }),
    defineRoute({
      method: 'post',
      path: '/api/token/validate',
      summary: 'Check a LiveKit access token (the token is the credential)',
      tags: ['tokens'],
      auth: 'none',
      validate: { body: Joi.object({ token, room: roomName }) },
      handler: handlers.validate,
    }),
    defineRoute({
      method: 'post',
      path: '/api/token/refresh',
      summary: 'Issue a new token with the same grants while the old one is still valid',
      tags: ['tokens'],
      auth: 'write',
      validate: { body: Joi.object({ token, ttlSeconds: ttl }) },
      handler: handlers.refresh,
    }),
    defineRoute({
      method: 'get',
      path: '/api/token/info',
      summary: 'Describe the LiveKit access token sent as Authorization: Bearer',
      tags: ['tokens'],
      auth: 'none',
      handler: handlers.info,
    }),
  ];
}
