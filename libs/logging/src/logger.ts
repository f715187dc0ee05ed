import type { Writable } from 'node:stream';

import { MESSAGE } from 'triple-beam';
import winston from 'winston';
import Transport from 'winston-transport';

import { redact } from './redact';

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

  const transport = new BatchedStreamTransport(options.stream ?? process.stdout);

  return winston.createLogger({
    level: options.level ?? 'info',
    format: winston.format.combine(shape(), winston.format.json()),
    transports: [transport],
    exitOnError: false,
  });
}
