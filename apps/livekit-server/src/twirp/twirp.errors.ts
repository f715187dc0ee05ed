import type { Request, Response } from 'express';

import { AppError } from '@castplane/errors';

// Twirp's error codes and their HTTP statuses (twirp spec v7).
const TWIRP_STATUS: Record<string, number> = {
  canceled: 408,
  invalid_argument: 400,
  malformed: 400,
  deadline_exceeded: 408,
  not_found: 404,
  bad_route: 404,
  already_exists: 409,
  permission_denied: 403,
  unauthenticated: 401,
  resource_exhausted: 429,
  failed_precondition: 412,
  aborted: 409,
  out_of_range: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  dataloss: 500,
};

// Our error codes that have no Twirp code of the same name.
const FROM_APP_CODE: Record<string, string> = {
  payload_too_large: 'invalid_argument',
  unsupported_media_type: 'bad_route',
  unprocessable_entity: 'invalid_argument',
};

/** Creates an error with a Twirp code, for codes the shared error type does not have. */
export function twirpError(code: string, msg: string, meta?: Record<string, string>): AppError {
  return new AppError('invalid_argument', msg, { reason: `twirp:${code}`, details: meta, status: TWIRP_STATUS[code] ?? 500 });
}

function twirpCode(error: AppError): string {
  if (error.reason?.startsWith('twirp:')) return error.reason.slice('twirp:'.length);
  return FROM_APP_CODE[error.code] ?? error.code;
}

// Validation failures list fields; Twirp carries them as string metadata.
function twirpMeta(error: AppError): Record<string, string> | undefined {
  if (error.reason?.startsWith('twirp:')) return error.details as Record<string, string> | undefined;
  if (!Array.isArray(error.details)) return undefined;
  const first = error.details[0] as { field?: string } | undefined;
  return first?.field ? { argument: first.field.replace(/^body\./, '') } : undefined;
}

/**
 * Writes `{code, msg, meta?}` with Content-Type exactly `application/json`: livekit-server-sdk
 * compares the header for equality and treats `; charset=utf-8` as plain text.
 */
export function writeTwirpError(error: AppError, _req: Request, res: Response): void {
  const code = twirpCode(error);
  if (code === 'malformed') {
    // The real server's wording for a body it cannot decode.
    res.status(400).setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ code, msg: 'the json request could not be decoded' }));
    return;
  }
  const body: Record<string, unknown> = { code, msg: error.message };
  const meta = twirpMeta(error);
  if (meta) body.meta = meta;
  res.status(TWIRP_STATUS[code] ?? error.status);
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(body));
}

/** Writes a Twirp success body (already in protobuf JSON) with the same exact Content-Type. */
export function writeTwirpBody(res: Response, body: unknown): void {
  res.status(200);
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(body));
}
