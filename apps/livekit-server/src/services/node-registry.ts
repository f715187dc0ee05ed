import type { Logger } from '@castplane/logging';
import type { Redis } from '@castplane/redis';

// Drops a node from the set only while its key is still missing, so a replica that refreshed
// in the meantime stays registered.
const UNREGISTER_SCRIPT = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
return redis.call('SREM', KEYS[1], ARGV[1])
`;

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Replica liveness in Redis. Each replica keeps the key `<prefix>:node:<nodeId>` with a TTL of
 * `timeoutMs`, refreshes it every third of that time, and adds its id to the set `<prefix>:nodes`.
 * A node in the set whose key has expired counts as dead. A node id that never registered (for
 * example one written by a version without this registry) never counts as dead.
 */
export class NodeRegistry {
  private timer?: NodeJS.Timeout;
  private registered = false;

  constructor(
    readonly nodeId: string,
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
  ) {}

  private get nodesKey(): string {
    return `${this.prefix}:nodes`;
  }

  private nodeKey(nodeId: string): string {
    return `${this.prefix}:node:${nodeId}`;
  }

  /** Registers this replica and refreshes its key every third of the timeout until `stop`. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch((error: unknown) =>
        this.logger.warn('node key refresh failed', { nodeId: this.nodeId, err: errorMessage(error) }),
      );
    }, Math.floor(this.timeoutMs / 3));
    this.timer.unref();
  }

  /** Sets this replica's key with a fresh TTL and adds it to the set of registered nodes. */
  async refresh(): Promise<void> {
    const results = await this.redis
      .multi()
      .set(this.nodeKey(this.nodeId), String(Date.now()), 'PX', this.timeoutMs, 'GET')
      .sadd(this.nodesKey, this.nodeId)
      .exec();
    const [error, previous] = results?.[0] ?? [];
    if (error) throw error;
    if (this.registered && previous === null) {
      // NOTE: the sockets of this replica stay open, but other replicas may already have removed
      // their participants, so those clients are no longer listed in their rooms.
      this.logger.warn('node key had expired before its refresh; other replicas may have removed the participants of this replica', {
        nodeId: this.nodeId,
        timeoutMs: this.timeoutMs,
      });
    }
    this.registered = true;
  }

  /**
   * Stops the refresh and deletes this replica's key. The set entry stays, so if a participant of
   * this replica is still recorded, the next sweep of another replica removes it and then the entry.
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.redis.del(this.nodeKey(this.nodeId));
  }

  /** Returns the registered nodes other than this one whose key has expired (one pipeline of EXISTS). */
  async deadNodes(): Promise<string[]> {
    const others = (await this.redis.smembers(this.nodesKey)).filter((nodeId) => nodeId !== this.nodeId);
    if (others.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const nodeId of others) pipeline.exists(this.nodeKey(nodeId));
    const results = (await pipeline.exec()) ?? [];
    return others.filter((_nodeId, index) => {
      const [error, exists] = results[index] ?? [];
      if (error) throw error;
      return exists === 0;
    });
  }

  /** Removes a dead node from the set of registered nodes, unless its key is back. */
  async unregister(nodeId: string): Promise<boolean> {
    const removed = await this.redis.eval(UNREGISTER_SCRIPT, 2, this.nodesKey, this.nodeKey(nodeId), nodeId);
    return removed === 1;
  }
}
