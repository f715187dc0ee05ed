import type { Writable } from 'node:stream';

import winston from 'winston';

import { redact } from './redact';

export type Logger = winston.Logger;

export interface LoggerOptions {
  service: string;
  level?: string;
  version?: string;
  env?: string;
  /** Where JSON lines go; stdout unless a test captures them. */
  stream?: Writable;
  /**
   * Exact secret values known at startup (API secrets, the callback secret). Any log text that
   * contains one of them has it replaced, whatever field it is in.
   */
  secrets?: readonly string[];
}

const RESERVED = new Set(['level', 'message', 'service', 'version', 'env', 'time']);

/**
 * Creates the service logger: winston JSON lines with `service`, `level`, `time`, `msg` and the
 * caller's fields, every one passed through {@link redact} before it is written.
 */
export function createLogger(options: LoggerOptions): Logger {
  const secrets = (options.secrets ?? []).filter((secret) => secret.length >= 6);

  const shape = winston.format((info) => {
    const { level, message, ...fields } = info as Record<string | symbol, unknown>;
    const clean = redact(fields, secrets) as Record<string, unknown>;
    const entry: Record<string, unknown> = {
      time: new Date().toISOString(),
      level,
      service: options.service,
      msg: typeof message === 'string' ? redact(message, secrets) : redact(message, secrets),
    };
    if (options.version) entry.version = options.version;
    if (options.env) entry.env = options.env;
    for (const [key, value] of Object.entries(clean)) {
      if (!RESERVED.has(key)) entry[key] = value;
    }
    const out = info as Record<string | symbol, unknown>;
    for (const key of Object.keys(out)) delete out[key];
    Object.assign(out, entry, { level, message: entry.msg });
    delete out.message;
    return info;
  });

  const transport = options.stream
    ? new winston.transports.Stream({ stream: options.stream })
    : new winston.transports.Console();

  return winston.createLogger({
    level: options.level ?? 'info',
    format: winston.format.combine(shape(), winston.format.json()),
    transports: [transport],
    exitOnError: false,
  });
}
