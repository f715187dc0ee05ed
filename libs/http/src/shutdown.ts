import type { Server } from 'node:http';

import type { Logger } from '@castplane/logging';

import type { Lifecycle } from './app';

interface Step {
  name: string;
  run: () => Promise<unknown> | unknown;
}

/**
 * Stops a service in order: readiness fails first, the servers stop accepting and finish
 * in-flight requests, then each registered step runs (workers, queues, Redis), every step even
 * when an earlier one failed. A hard deadline ends the process with code 1. Runs once.
 */
export class Shutdown {
  private readonly servers: Server[] = [];
  private readonly steps: Step[] = [];
  private running?: Promise<void>;

  constructor(
    private readonly options: { logger: Logger; lifecycle: Lifecycle; timeoutMs: number; exit?: (code: number) => void },
  ) {}

  addServer(server: Server): void {
    this.servers.push(server);
  }

  /** Registers a cleanup step; steps run in registration order after the servers close. */
  register(name: string, run: () => Promise<unknown> | unknown): void {
    this.steps.push({ name, run });
  }

  run(reason = 'shutdown'): Promise<void> {
    this.running ??= this.execute(reason);
    return this.running;
  }

  private async execute(reason: string): Promise<void> {
    const { logger, lifecycle, timeoutMs } = this.options;
    const exit = this.options.exit ?? ((code: number) => process.exit(code));
    lifecycle.draining = true;
    logger.info('shutting down', { reason, timeoutMs });

    const deadline = setTimeout(() => {
      logger.error('shutdown deadline passed; exiting', { timeoutMs });
      exit(1);
    }, timeoutMs);
    deadline.unref();

    const started = Date.now();
    await Promise.all(this.servers.map((server) => closeServer(server, timeoutMs / 2)));
    for (const step of this.steps) {
      // A step that hangs (a queue waiting on a Redis that is down) must not use up the time of
      // the steps after it, so each one gets at most half of what is left.
      const left = timeoutMs - (Date.now() - started);
      try {
        await withTimeout(Promise.resolve().then(step.run), Math.max(100, left / 2));
      } catch (error) {
        logger.warn('shutdown step failed', { step: step.name, err: error instanceof Error ? error.message : String(error) });
      }
    }
    clearTimeout(deadline);
    logger.info('stopped', { reason });
  }
}

function withTimeout(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`did not finish within ${Math.round(ms)} ms`)), ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}

// Stop accepting, close idle keep-alive sockets now and busy ones once they finish; after
// `graceMs` close whatever is still open.
function closeServer(server: Server, graceMs: number): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
