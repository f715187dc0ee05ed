import type { Response } from 'express';
import Joi from 'joi';

import { AppError } from '@castplane/errors';
import { defineRoute } from '@castplane/http';
import type { RouteDefinition, ValidRequest } from '@castplane/http';

import { bearerToken } from '../handlers/token.handlers';
import { identity, roomName } from '../schemas/common.schemas';
import { iceCandidateSchema, sdpSchema } from '../signal/signal-messages';
import type { RelayService, RelayType } from '../services/relay.service';
import type { TokenService } from '../services/token.service';

const BODIES: Record<RelayType, Joi.ObjectSchema> = {
  offer: Joi.object({ room: roomName.required(), to: identity.required(), sdp: sdpSchema }),
  answer: Joi.object({ room: roomName.required(), to: identity.required(), sdp: sdpSchema }),
  'ice-candidate': Joi.object({ room: roomName.required(), to: identity.required(), candidate: iceCandidateSchema }),
};

/**
 * `POST /api/signal/{offer|answer|ice-candidate}`: the WebSocket relay over HTTP. The sender
 * authenticates with its LiveKit access token for the room; the target must be connected.
 */
export function signalRoutes(tokens: TokenService, relay: RelayService): RouteDefinition[] {
  return (Object.keys(BODIES) as RelayType[]).map((type) =>
    defineRoute({
      method: 'post',
      path: `/api/signal/${type}`,
      summary: `Relay an ${type} to a connected participant`,
      tags: ['signal'],
      auth: 'none',
      validate: { body: BODIES[type] },
      handler: async (req: ValidRequest<{ body: any }>, res: Response) => {
        const claims = await tokens.verify(bearerToken(req));
        const { room, to, ...body } = req.valid.body;
        if (!claims.video?.roomJoin || claims.video.room !== room || !claims.sub) {
          throw new AppError('permission_denied', `the access token does not allow joining room "${room}"`);
        }
        await relay.relay(room, claims.sub, to, type, body);
        res.status(202).json({ delivered: true, to });
      },
    }),
  );
}
