import type { Request, RequestHandler, Response } from 'express';
import type Joi from 'joi';

import type { Scope } from '@castplane/auth';

import type { ErrorFormatter } from './errors';
import type { RequestSchemas } from './validation';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** A request whose validated input has the given shape. */
export type ValidRequest<V extends { params?: unknown; query?: unknown; body?: unknown }> = Request & {
  valid: { params: V['params']; query: V['query']; body: V['body'] };
};

/**
 * One route: method, path, who may call it, what it accepts and its handler. The same table
 * mounts the route and writes the OpenAPI document, so the two cannot drift.
 */
export interface RouteDefinition<V extends { params?: unknown; query?: unknown; body?: unknown } = any> {
  method: HttpMethod;
  /** Express path, for example `/api/v1/streams/:streamId`. */
  path: string;
  summary: string;
  tags?: readonly string[];
  /** The scope a caller needs, or `none` for routes that check their own credentials. */
  auth: Scope | 'none';
  /** Rate limiting per principal (or client IP); on by default. */
  rateLimit?: boolean;
  validate?: RequestSchemas;
  /**
   * Body reading mode: `json` (default), `raw` (a Buffer, for signed payloads), `multipart`
   * (the route's `before` middleware parses it) or `none`.
   */
  bodyType?: 'json' | 'raw' | 'multipart' | 'none';
  /** Content types accepted as a raw body, for `bodyType: 'raw'`. */
  rawTypes?: string[];
  /** Overrides the JSON body limit for this route, for example `64kb`. */
  bodyLimit?: string;
  /** Middleware that runs after authentication and before validation (for example multer). */
  before?: RequestHandler[];
  responses?: Record<number, { description: string; schema?: Joi.Schema }>;
  /** Writes errors of this route in a protocol's own shape instead of the envelope. */
  formatError?: ErrorFormatter;
  handler: (req: ValidRequest<V>, res: Response) => Promise<void> | void;
}

/** Types a route definition; `V` names the validated params, query and body. */
export function defineRoute<V extends { params?: unknown; query?: unknown; body?: unknown } = any>(
  route: RouteDefinition<V>,
): RouteDefinition<V> {
  return route;
}
