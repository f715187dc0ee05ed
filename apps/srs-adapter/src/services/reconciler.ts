import type { Logger } from '@castplane/logging';

import type { MediaBackend } from '../media/media-backend';
import type { HookService } from './hook.service';
import type { StreamStore } from './stream.store';

/**
 * Repairs state on a timer: ends streams whose reconnect window passed, and in external mode
 * releases publishers that SRS no longer lists (a missed `on_unpublish`).
 */
export class Reconciler {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly deps: { store: StreamStore; hooks: HookService; media: () => MediaBackend; logger: Logger; intervalMs: number },
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.runOnce()
        .then(() => undefined, (error: Error) => void this.deps.logger.warn('reconcile failed', { err: error.message }))
        .finally(() => (this.running = undefined));
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  async runOnce(): Promise<{ expired: number; released: number }> {
    const expired = await this.deps.hooks.expireReconnects();
    const active = await this.deps.media().activeStreams();
    if (!active) return { expired, released: 0 };
    const live = new Set(active.map((stream) => `${stream.app}/${stream.name}`));
    let released = 0;
    for (const id of await this.deps.store.allIds()) {
      const stream = await this.deps.store.get(id);
      if (!stream || stream.state !== 'live' || live.has(`${stream.app}/${stream.name}`)) continue;
      this.deps.logger.warn('publisher missing from the media server; releasing it', { streamId: id, clientId: stream.publisherClientId });
      await this.deps.hooks.onUnpublish({
        action: 'on_unpublish', client_id: stream.publisherClientId, app: stream.app, stream: stream.name, param: '', stream_url: `/${stream.app}/${stream.name}`,
      });
      released += 1;
    }
    // NOTE: a stream that SRS lists as live while the registry has it idle is not adopted. SRS
    // admits only publishers whose on_publish we allowed, so this needs a failed state write.
    return { expired, released };
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
