/**
 * Stable, lower_snake error codes shared by every service. The words follow Twirp's codes so that
 * a client can branch on the code without reading the message.
 */
export type ErrorCode =
  | 'invalid_argument'
  | 'malformed'
  | 'unauthenticated'
  | 'permission_denied'
  | 'not_found'
  | 'method_not_allowed'
  | 'already_exists'
  | 'failed_precondition'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'unprocessable_entity'
  | 'resource_exhausted'
  | 'deadline_exceeded'
  | 'unavailable'
  | 'internal';

export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  invalid_argument: 400,
  malformed: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  method_not_allowed: 405,
  already_exists: 409,
  failed_precondition: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unprocessable_entity: 422,
  resource_exhausted: 429,
  deadline_exceeded: 504,
  unavailable: 503,
  internal: 500,
};

/** One failing input value: `field` is the path such as `body.name` or `params.streamId`. */
export interface FieldError {
  field: string;
  message: string;
  type?: string;
}

export interface AppErrorOptions {
  status?: number;
  details?: unknown;
  /** A finer, domain-specific reason such as `stream_already_publishing`. */
  reason?: string;
  cause?: unknown;
  headers?: Record<string, string>;
}

/** An error that is safe to show to the client: its message and details reach the response. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: unknown;
  readonly reason?: string;
  readonly headers?: Record<string, string>;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = options.status ?? STATUS_BY_CODE[code];
    this.details = options.details;
    this.reason = options.reason;
    this.headers = options.headers;
  }
}

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}

export function invalidArgument(message: string, details?: FieldError[]): AppError {
  return new AppError('invalid_argument', message, { details });
}

export function notFound(kind: string, id: string): AppError {
  return new AppError('not_found', `${kind} ${JSON.stringify(id)} not found`, {
    details: [{ field: kind, message: 'not found' }],
  });
}

export function alreadyExists(message: string, field?: string): AppError {
  return new AppError('already_exists', message, {
    details: field ? [{ field, message: 'already exists' }] : undefined,
  });
}

export function failedPrecondition(message: string, reason?: string): AppError {
  return new AppError('failed_precondition', message, { reason });
}

export function unauthenticated(message = 'missing or invalid credentials'): AppError {
  return new AppError('unauthenticated', message, {
    headers: { 'WWW-Authenticate': 'Bearer realm="castplane"' },
  });
}

export function permissionDenied(message: string): AppError {
  return new AppError('permission_denied', message);
}

export function unavailable(message: string, details?: unknown): AppError {
  return new AppError('unavailable', message, { details });
}
