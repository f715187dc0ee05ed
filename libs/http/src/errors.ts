import type { NextFunction, Request, Response } from 'express';

import { AppError, isAppError } from '@castplane/errors';

/** The JSON body of every error response. */
export interface ErrorEnvelope {
  code: string;
  message: string;
  requestId: string;
  details?: unknown;
}

/** Writes an error in another protocol's shape (Twirp, SRS) instead of the envelope. */
export type ErrorFormatter = (error: AppError, req: Request, res: Response) => void;

interface BodyParserError extends Error {
  type?: string;
  status?: number;
  expose?: boolean;
}

/** Maps body-parser failures and unknown errors to {@link AppError}; unknown ones hide their message. */
export function toAppError(error: unknown): AppError {
  if (isAppError(error)) return error;
  const parserError = error as BodyParserError;
  switch (parserError?.type) {
    case 'entity.parse.failed':
      return new AppError('malformed', 'the request body is not valid JSON', {
        details: [{ field: 'body', message: 'invalid JSON' }],
      });
    case 'entity.too.large':
      return new AppError('payload_too_large', 'the request body is larger than the limit', {
        details: [{ field: 'body', message: 'too large' }],
      });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('unsupported_media_type', 'the request body encoding is not supported', {
        details: [{ field: 'headers.content-type', message: 'unsupported charset or encoding' }],
      });
    case 'request.aborted':
      return new AppError('malformed', 'the request was aborted by the client');
  }
  // The router could not percent-decode a path parameter. Its message quotes the raw value, which
  // may be a stream key, so neither the response nor the log contains it.
  if (error instanceof URIError && (error as URIError & { status?: number }).status === 400) {
    return new AppError('invalid_argument', 'the path contains an invalid percent-encoding', {
      details: [{ field: 'path', message: 'invalid percent-encoding' }],
    });
  }
  // Other client errors from the body parser, such as a gzip body that does not inflate.
  if (parserError?.expose && parserError.status && parserError.status >= 400 && parserError.status < 500) {
    return new AppError('malformed', 'the request body could not be read', {
      status: parserError.status,
      details: [{ field: 'body', message: parserError.message }],
    });
  }
  return new AppError('internal', 'internal server error', { cause: error });
}

export function sendError(error: AppError, req: Request, res: Response): void {
  const envelope: ErrorEnvelope = { code: error.code, message: error.message, requestId: req.requestId };
  if (error.details !== undefined) envelope.details = error.details;
  for (const [name, value] of Object.entries(error.headers ?? {})) res.setHeader(name, value);
  res.status(error.status).json(envelope);
}

/** Returns the last middleware, the one place that turns any error into a status, a body and a log line. */
export function errorHandler() {
  return (error: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const appError = toAppError(error);
    if (appError.status >= 500) {
      req.log.error('request failed', { err: appError.cause ?? appError, code: appError.code });
    } else {
      req.log.info('request rejected', { code: appError.code, reason: appError.message });
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    const formatter = res.locals.formatError as ErrorFormatter | undefined;
    if (formatter) formatter(appError, req, res);
    else sendError(appError, req, res);
  };
}

export function notFoundHandler() {
  return (req: Request, _res: Response, next: NextFunction): void => {
    next(
      new AppError('not_found', `no route for ${req.method} ${req.path}`, {
        details: [{ field: 'path', message: 'unknown route' }],
      }),
    );
  };
}
