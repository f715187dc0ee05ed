import { createLogger } from '@castplane/logging';
import { closeRedis, createRedis } from '@castplane/redis';
import type { Redis } from '@castplane/redis';
import { LogCapture, testRedisUrl, uniquePrefix } from '@castplane/testing';

import { NodeRegistry } from '../src/services/node-registry';

describe('NodeRegistry', () => {
  let redis: Redis;
  let prefix: string;
  const logs = new LogCapture();
  const logger = createLogger({ service: 'node-registry-test', level: 'info', stream: logs.stream });
  const registries: NodeRegistry[] = [];

  function registry(nodeId: string, timeoutMs = 60000): NodeRegistry {
    const created = new NodeRegistry(nodeId, redis, prefix, timeoutMs, logger);
    registries.push(created);
    return created;
  }

  beforeAll(() => {
    redis = createRedis(testRedisUrl(), { name: 'node-registry-test' });
  });

  beforeEach(() => {
    prefix = uniquePrefix('nodes');
  });

  afterEach(async () => {
    for (const created of registries.splice(0)) await created.stop();
  });

  afterAll(async () => {
    await closeRedis(redis);
  });

  it('sets a key with the timeout as TTL', async () => {
    await registry('node-a', 9000).start();

    const ttl = await redis.pttl(`${prefix}:node:node-a`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(9000);
    expect(await redis.smembers(`${prefix}:nodes`)).toEqual(['node-a']);
  });

  it('counts a registered node without its key as dead', async () => {
    const nodeA = registry('node-a');
    await nodeA.start();
    await registry('node-b').start();
    await redis.del(`${prefix}:node:node-b`);

    expect(await nodeA.deadNodes()).toEqual(['node-b']);
  });

  it('never counts itself or a live node as dead', async () => {
    const nodeA = registry('node-a');
    await nodeA.start();
    await registry('node-b').start();
    await redis.del(`${prefix}:node:node-a`);

    expect(await nodeA.deadNodes()).toEqual([]);
  });

  it('ignores a node id that never registered', async () => {
    const nodeA = registry('node-a');
    await nodeA.start();

    expect(await nodeA.deadNodes()).toEqual([]);
    expect(await nodeA.unregister('node-unknown')).toBe(false);
  });

  it('deletes its key on stop and keeps the set entry', async () => {
    const nodeA = registry('node-a');
    await nodeA.start();
    const nodeB = registry('node-b');
    await nodeB.start();
    await nodeB.stop();

    expect(await redis.exists(`${prefix}:node:node-b`)).toBe(0);
    expect(await nodeA.deadNodes()).toEqual(['node-b']);
  });

  it('unregisters a dead node only while its key is missing', async () => {
    const nodeA = registry('node-a');
    await nodeA.start();
    const nodeB = registry('node-b');
    await nodeB.start();

    expect(await nodeA.unregister('node-b')).toBe(false);
    await redis.del(`${prefix}:node:node-b`);
    expect(await nodeA.unregister('node-b')).toBe(true);
    expect(await redis.smembers(`${prefix}:nodes`)).toEqual(['node-a']);
  });

  it('registers again and warns when its key had expired', async () => {
    const nodeA = registry('node-a');
    await nodeA.start();
    await redis.multi().del(`${prefix}:node:node-a`).srem(`${prefix}:nodes`, 'node-a').exec();

    await nodeA.refresh();

    expect(await redis.exists(`${prefix}:node:node-a`)).toBe(1);
    expect(await redis.smembers(`${prefix}:nodes`)).toEqual(['node-a']);
    const warnings = logs.lines().filter((line) => line.msg === 'node key had expired before its refresh; other replicas may have removed the participants of this replica');
    expect(warnings).toHaveLength(1);
    expect(warnings[0].nodeId).toBe('node-a');
  });
});
