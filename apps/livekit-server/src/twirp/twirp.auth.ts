import type { Request } from 'express';
import type { VideoGrant } from 'livekit-server-sdk';

import type { TokenService } from '../services/token.service';
import { twirpError } from './twirp.errors';

export type GrantCheck = (grant: VideoGrant, body: Record<string, unknown>) => boolean;

/** The grant each kind of call needs, as the LiveKit server checks it. */
export const GRANTS = {
  roomCreate: ((grant) => grant.roomCreate === true) as GrantCheck,
  roomList: ((grant) => grant.roomList === true) as GrantCheck,
  // Participant, metadata and data calls need roomAdmin for the request's own room.
  roomAdmin: ((grant, body) => grant.roomAdmin === true && !!grant.room && grant.room === body.room) as GrantCheck,
  roomRecord: ((grant) => grant.roomRecord === true) as GrantCheck,
};

/**
 * Verifies the LiveKit service token in `Authorization: Bearer` and the call's grant. Both a bad
 * token and a missing grant return 401 `unauthenticated`, like the real server.
 */
export async function authorizeTwirp(req: Request, tokens: TokenService, check: GrantCheck): Promise<VideoGrant> {
  const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
  if (!match) throw twirpError('unauthenticated', 'authorization header is missing or not a bearer token');
  let grant: VideoGrant;
  try {
    grant = (await tokens.verify(match[1])).video ?? {};
  } catch (error) {
    throw twirpError('unauthenticated', error instanceof Error ? error.message : 'invalid token');
  }
  if (!check(grant, (req.body ?? {}) as Record<string, unknown>)) throw twirpError('unauthenticated', 'permissions denied');
  return grant;
}
