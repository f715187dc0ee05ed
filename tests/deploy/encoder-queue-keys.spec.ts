import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';

import { TRANSCODE_QUEUE } from '../../apps/encoder/src/jobs/transcode.queue';
import { testRedisUrl, uniquePrefix, waitFor } from '@castplane/testing';

import { buildKustomization } from './support/kustomize';
import { ROOT } from './support/repo';

/**
 * The KEDA triggers read Redis lists by name. This checks against real BullMQ and Redis that a
 * waiting job and a running job sit in the lists those names point to.
 */
describe('encoder queue keys read by KEDA', () => {
  const prefix = uniquePrefix('deploy-keda');
  let redis: Redis;
  let queueConnection: Redis;
  let workerConnection: Redis;
  let queue: Queue;
  let worker: Worker | undefined;
  let release: () => void = () => undefined;

  beforeAll(() => {
    redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: 3 });
    // BullMQ requires maxRetriesPerRequest null on connections that block (workers).
    queueConnection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    workerConnection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    queue = new Queue(TRANSCODE_QUEUE, { connection: queueConnection, prefix });
  });

  afterAll(async () => {
    release();
    await worker?.close();
    await queue.obliterate({ force: true });
    await queue.close();
    await Promise.all([redis.quit(), queueConnection.quit(), workerConnection.quit()]);
  });

  /** Returns the list names of the base ScaledObject, rewritten to this test's key prefix. */
  function triggerLists(): Record<string, string> {
    const resources = buildKustomization(`${ROOT}/k8s/base`);
    const scaledObject = resources.find((resource) => resource.kind === 'ScaledObject') as unknown as {
      spec: { triggers: { name: string; metadata: { listName: string } }[] };
    };
    const configMap = resources.find((resource) => resource.metadata.name === 'castplane-config') as unknown as {
      data: { REDIS_KEY_PREFIX: string };
    };
    return Object.fromEntries(
      scaledObject.spec.triggers.map((trigger) => [
        trigger.name,
        trigger.metadata.listName.replace(`${configMap.data.REDIS_KEY_PREFIX}:`, `${prefix}:`),
      ]),
    );
  }

  it('counts a waiting job in the wait list', async () => {
    const lists = triggerLists();
    await queue.add('live', { check: 'wait' });
    expect(await redis.type(lists.wait)).toBe('list');
    expect(await redis.llen(lists.wait)).toBe(1);
  });

  it('counts a running job in the active list', async () => {
    const lists = triggerLists();
    const jobHeld = new Promise<void>((resolve) => {
      release = resolve;
    });
    worker = new Worker(TRANSCODE_QUEUE, () => jobHeld, { connection: workerConnection, prefix, concurrency: 1 });
    await waitFor(async () => (await redis.llen(lists.active)) === 1, { timeoutMs: 15000, what: 'an active job' });
    expect(await redis.type(lists.active)).toBe('list');
    expect(await redis.llen(lists.wait)).toBe(0);
    release();
  });
});
