import './types';

export { boundPort, createHttpApp, listen } from './app';
export type { HttpAppOptions, Lifecycle, ReadinessCheck } from './app';
export { errorHandler, notFoundHandler, sendError, toAppError } from './errors';
export type { ErrorEnvelope, ErrorFormatter } from './errors';
export { Metrics } from './metrics';
export { buildOpenApi, joiToSchema } from './openapi';
export { RateLimiter } from './rate-limit';
export type { RateLimitOptions } from './rate-limit';
export { REQUEST_ID_PATTERN, requestContext, routeLabel } from './request-context';
export { defineRoute } from './routes';
export type { HttpMethod, RouteDefinition, ValidRequest } from './routes';
export { Runtime, VERSION, runMain } from './runtime';
export type { RunningService, RuntimeOptions } from './runtime';
export { identify, requireScope } from './security';
export { Shutdown } from './shutdown';
export { validateRequest } from './validation';
export type { RequestSchemas } from './validation';
