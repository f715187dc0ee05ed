export { createLogger } from './logger';
export type { Logger, LoggerOptions } from './logger';
export { REDACTED, isSecretKey, redact, redactText } from './redact';
