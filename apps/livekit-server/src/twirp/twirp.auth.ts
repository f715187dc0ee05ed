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
 * Verifies the LiveKit service token in `Authorization: Bearer` and returns its grant. A bad token
 * returns 401 `unauthenticated`, like the real server. This runs before the body is read.
 */
export async function verifyTwirpToken(req: Request, tokens: TokenService): Promise<VideoGrant> {
  const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
  if (!match) throw twirpError('unauthenticated', 'authorization header is missing or not a bearer token');
  try {
    return (await tokens.verify(match[1])).video ?? {};
  } catch (error) {
    throw twirpError('unauthenticated', error instanceof Error ? error.message : 'invalid token');
  }
}

/** Checks the call's grant against the request body. A missing grant is 401 `unauthenticated`, like the real server. */
export function requireGrant(grant: VideoGrant, check: GrantCheck, body: unknown): void {
  if (!check(grant, (body ?? {}) as Record<string, unknown>)) throw twirpError('unauthenticated', 'permissions denied');
}
