import type { Writable } from 'node:stream';

import { configure } from 'safe-stable-stringify';
import { LEVEL, MESSAGE } from 'triple-beam';
import winston from 'winston';
import Transport from 'winston-transport';

import { redact, redactField } from './redact';

export type Logger = winston.Logger;

export interface LoggerOptions {
  service: string;
  level?: string;
  version?: string;
  env?: string;
  /** Destination of the JSON lines: stdout unless a test captures them. */
  stream?: Writable;
  /**
   * Exact secret values known at startup (API secrets, the callback secret). Any log text that
   * contains one of them has it replaced, whatever field it is in.
   */
  secrets?: readonly string[];
}

const unflushed = new Set<BatchedStreamTransport>();
let exitHookInstalled = false;

// One exit listener for every transport, so that many loggers (tests start many services in one
// process) do not pile up listeners.
function flushOnExit(transport: BatchedStreamTransport): void {
  unflushed.add(transport);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', flushLogs);
}

/** Writes every buffered log line now; tests call it before reading captured output. */
export function flushLogs(): void {
  for (const pending of unflushed) pending.flush();
}

/**
 * Writes the lines logged in one event-loop turn with a single write, instead of one write per
 * line, and flushes synchronously when the process exits.
 */
class BatchedStreamTransport extends Transport {
  private buffer: string[] = [];
  private scheduled = false;

  constructor(private readonly target: NodeJS.WritableStream) {
    super();
    flushOnExit(this);
  }

  override log(info: Record<string | symbol, unknown>, callback: () => void): void {
    this.buffer.push(`${String(info[MESSAGE])}\n`);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    callback();
  }

  flush(): void {
    this.scheduled = false;
    if (this.buffer.length === 0) return;
    const chunk = this.buffer.join('');
    this.buffer = [];
    this.target.write(chunk);
  }
}

const RESERVED = new Set(['level', 'message', 'service', 'version', 'env', 'time']);

// The serializer of logform's `json()` format (logform 2.7) with its default options: keys sorted,
// circular references written as "[Circular]", and BigInt values written as strings.
const stringifyLine = configure({});

function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

function noop(): void {}

type Info = Record<string | symbol, unknown>;

/**
 * Creates the service logger: winston JSON lines with `service`, `level`, `time`, `msg` and the
 * caller's fields, every one passed through {@link redact} before it is written.
 */
export function createLogger(options: LoggerOptions): Logger {
  const secrets = (options.secrets ?? []).filter((secret) => secret.length >= 6);

  const line = winston.format((info) => {
    const fields = info as Info;
    const entry: Record<string, unknown> = {
      time: new Date().toISOString(),
      level: fields.level,
      service: options.service,
      msg: redact(fields.message, secrets),
    };
    if (options.version) entry.version = options.version;
    if (options.env) entry.env = options.env;
    // The caller's fields, redacted as redact() would redact a copy of them, except the reserved
    // names, which the logger sets itself.
    for (const key of Object.keys(fields)) {
      if (!RESERVED.has(key)) entry[key] = redactField(key, fields[key], secrets);
    }
    fields[MESSAGE] = stringifyLine(entry, bigintAsString);
    return info;
  });

  const transport = new BatchedStreamTransport(options.stream ?? process.stdout);
  const logger = winston.createLogger({
    level: options.level ?? 'info',
    format: line(),
    transports: [transport],
    exitOnError: false,
  });
  writeDirectly(logger, transport);
  return logger;
}

/**
 * Replaces the logger's stream `write`, which child loggers call too, with a direct call into
 * the transport. Winston 3 otherwise passes every entry through two object-mode streams (the
 * logger's Transform and the transport's Writable), and formats entries that the level then
 * drops. The checks kept here are the ones those streams made: `silent`, the logger level
 * compared with the entry's level, and uncaught-exception entries, which this transport does not
 * handle.
 * NOTE: a transport added later with `logger.add()` receives nothing, because entries no longer
 * flow through the logger's stream.
 */
function writeDirectly(logger: Logger, transport: BatchedStreamTransport): void {
  const direct = (info: Info): boolean => {
    if (logger.silent || info.exception === true) return true;
    const level = (info[LEVEL] ?? info.level) as string;
    const levels = logger.levels;
    if (levels[level] === undefined) {
      console.error('[winston] Unknown logger level: %s', level);
      return true;
    }
    if (!(levels[logger.level] >= levels[level])) return true;
    const formatted = logger.format.transform(info as winston.Logform.TransformableInfo, logger.format.options);
    if (formatted) transport.log(formatted as Info, noop);
    return true;
  };
  Object.defineProperty(logger, 'write', { value: direct, writable: true, configurable: true });
}
