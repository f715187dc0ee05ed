export { createLogger, flushLogs } from './logger';
export type { Logger, LoggerOptions } from './logger';
export { REDACTED, isSecretKey, redact, redactText } from './redact';
