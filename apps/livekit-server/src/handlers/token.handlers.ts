import type { Request, Response } from 'express';

import { AppError } from '@castplane/errors';
import type { ValidRequest } from '@castplane/http';

import { InvalidTokenError } from '../services/token.service';
import type { LivekitClaims, TokenService } from '../services/token.service';

function describe(claims: LivekitClaims) {
  return {
    identity: claims.sub ?? null,
    name: claims.name ?? null,
    metadata: claims.metadata ?? null,
    attributes: claims.attributes ?? {},
    room: claims.video?.room ?? null,
    grants: claims.video ?? {},
    issuer: claims.iss,
    notBefore: claims.nbf ? new Date(claims.nbf * 1000).toISOString() : null,
    expiresAt: claims.exp ? new Date(claims.exp * 1000).toISOString() : null,
  };
}

/** Reads a LiveKit access token from `Authorization: Bearer`. */
export function bearerToken(req: Request): string {
  const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
  if (!match) throw new AppError('unauthenticated', 'send the access token as Authorization: Bearer <token>');
  return match[1];
}

// Verifies the access token sent in the body. A failure is the body's fault, not the caller's
// credential, so it is 422 naming `body.token` rather than 401.
async function verifyBodyToken(tokens: TokenService, token: string): Promise<LivekitClaims> {
  try {
    return await tokens.verify(token);
  } catch (error) {
    if (!(error instanceof InvalidTokenError)) throw error;
    throw new AppError('unprocessable_entity', `body.token is not a usable access token: ${error.message}`, {
      reason: error.failure,
      details: [{ field: 'body.token', message: error.message }],
    });
  }
}

export function tokenHandlers(tokens: TokenService) {
  return {
    generate: async (req: ValidRequest<{ body: any }>, res: Response) => {
      const body = req.valid.body;
      const grants = { ...body.grants, room: body.room };
      const issued = await tokens.issue({ ...body, grants });
      req.log.info('access token issued', { participantIdentity: body.identity, roomName: body.room });
      res.status(201).json({
        token: issued.token,
        identity: body.identity,
        room: body.room ?? null,
        grants,
        notBefore: issued.notBefore.toISOString(),
        expiresAt: issued.expiresAt.toISOString(),
      });
    },

    validate: async (req: ValidRequest<{ body: any }>, res: Response) => {
      let claims: LivekitClaims;
      try {
        claims = await tokens.verify(req.valid.body.token);
      } catch (error) {
        if (!(error instanceof InvalidTokenError)) throw error;
        res.json({ valid: false, reason: error.failure, message: error.message });
        return;
      }
      const room = req.valid.body.room;
      if (room && claims.video?.room !== room) {
        res.json({ valid: false, reason: 'wrong_room', message: `the access token is for room "${claims.video?.room ?? ''}", not "${room}"` });
        return;
      }
      res.json({ valid: true, ...describe(claims) });
    },

    refresh: async (req: ValidRequest<{ body: any }>, res: Response) => {
      const claims = await verifyBodyToken(tokens, req.valid.body.token);
      const issued = await tokens.issue({
        identity: claims.sub ?? '',
        name: claims.name,
        metadata: claims.metadata,
        attributes: claims.attributes,
        grants: claims.video ?? {},
        ttlSeconds: req.valid.body.ttlSeconds,
      });
      res.status(201).json({ ...describe(claims), token: issued.token, expiresAt: issued.expiresAt.toISOString() });
    },

    info: async (req: Request, res: Response) => {
      res.json(describe(await tokens.verify(bearerToken(req))));
    },
  };
}
