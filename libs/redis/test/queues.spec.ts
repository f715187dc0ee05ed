import { AppError } from '@castplane/errors';
import { createLogger } from '@castplane/logging';
import { CommandClient, EventPublisher, applyOnce, createRedis, serveCommands, subscribeEvents } from '@castplane/redis';
import type { QueueContext } from '@castplane/redis';
import type { EventEnvelope } from '@castplane/contracts';
import { LogCapture, testRedisUrl, uniquePrefix, waitFor } from '@castplane/testing';

import { waitForResult } from '../src/commands';
import { createQueue, createQueueEvents, createWorker } from '../src/queues';

const logs = new LogCapture();
const context: QueueContext = {
  redisUrl: testRedisUrl(),
  prefix: uniquePrefix('queues'),
  logger: createLogger({ service: 'queue-test', stream: logs.stream, level: 'warn' }),
};

describe('CommandClient and serveCommands', () => {
  const client = new CommandClient(context);
  let attempts = 0;
  const worker = serveCommands(context, 'livekit-server', {
    'room.create': async (payload) => {
      attempts += 1;
      if (payload.name === 'flaky' && attempts < 2) throw new Error('temporary failure');
      if (payload.name === 'taken') throw new AppError('already_exists', 'room "taken" already exists');
      return { sid: `RM_${payload.name}`, name: payload.name, created: true };
    },
  });

  afterAll(async () => {
    await worker.close();
    await client.close();
  });

  it('returns the handler result to the sender', async () => {
    const result = await client.send('livekit-server', 'room.create', { name: 'one' }, { timeoutMs: 10000 });
    expect(result).toEqual({ sid: 'RM_one', name: 'one', created: true });
  });

  it('retries a transient failure with backoff', async () => {
    attempts = 0;
    const result = await client.send('livekit-server', 'room.create', { name: 'flaky' }, { timeoutMs: 10000, backoffMs: 50 });
    expect(result.sid).toBe('RM_flaky');
    expect(attempts).toBe(2);
  });

  it('rebuilds a client error with its code and does not retry it', async () => {
    attempts = 0;
    const sending = client.send('livekit-server', 'room.create', { name: 'taken' }, { timeoutMs: 10000, backoffMs: 50 });
    await expect(sending).rejects.toMatchObject({ code: 'already_exists', status: 409 });
    expect(attempts).toBe(1);
  });

  it('delivers results to fresh clients', async () => {
    const fresh = Array.from({ length: 20 }, () => new CommandClient(context));
    try {
      const results = await Promise.all(
        fresh.map((sender, index) => sender.send('livekit-server', 'room.create', { name: `fresh-${index}` }, { timeoutMs: 8000 })),
      );
      expect(results.map((result) => result.name)).toEqual(fresh.map((_, index) => `fresh-${index}`));
    } finally {
      await Promise.all(fresh.map((sender) => sender.close()));
    }
  });

  it('reports deadline_exceeded when no worker answers in time', async () => {
    const sending = client.send('encoder', 'transcode.stop', { streamKey: 'k' }, { timeoutMs: 300 });
    await expect(sending).rejects.toMatchObject({ code: 'deadline_exceeded' });
  });
});

describe('waitForResult', () => {
  const queue = createQueue(context, 'backstop');
  // Events of another queue: the completion event never reaches this listener.
  const deafEvents = createQueueEvents(context, 'backstop-elsewhere');
  const worker = createWorker<{ fail?: boolean }>(context, 'backstop', async (job) => {
    if (job.data.fail) throw new Error('cannot do that');
    return { done: job.id };
  });

  afterAll(async () => {
    await worker.close();
    await Promise.all([deafEvents.close(), queue.close()]);
  });

  it('returns the result of a job whose completion event it never hears', async () => {
    await deafEvents.waitUntilReady();
    const job = await queue.add('work', {});
    await expect(waitForResult(queue, job, deafEvents, 8000)).resolves.toEqual({ done: job.id });
  });

  it('rejects with the failure of a job whose failed event it never hears', async () => {
    const job = await queue.add('work', { fail: true }, { attempts: 1 });
    await expect(waitForResult(queue, job, deafEvents, 8000)).rejects.toThrow('cannot do that');
  });
});

describe('EventPublisher and subscribeEvents', () => {
  const publisher = new EventPublisher(context, 'srs-adapter');
  const received: { service: string; event: EventEnvelope }[] = [];
  const encoderWorker = subscribeEvents(context, 'encoder', async (event) => {
    received.push({ service: 'encoder', event });
  });
  const orchestratorWorker = subscribeEvents(context, 'orchestrator', async (event) => {
    received.push({ service: 'orchestrator', event });
  });

  afterAll(async () => {
    await Promise.all([encoderWorker.close(), orchestratorWorker.close(), publisher.close()]);
  });

  it('delivers a duplicated event once per subscriber', async () => {
    const data = { streamId: 's1', app: 'live', name: 'cam1', clientId: 'c1', sessionId: 'p1' };
    await publisher.publish('stream.published', data, 's1:p1:published');
    await publisher.publish('stream.published', data, 's1:p1:published');
    await waitFor(() => received.length >= 2, { timeoutMs: 10000, what: 'two deliveries' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(received.map((item) => item.service).sort()).toEqual(['encoder', 'orchestrator']);
    expect(received[0].event).toMatchObject({ id: 's1:p1:published', type: 'stream.published', source: 'srs-adapter', data });
  });
});

describe('applyOnce', () => {
  const redis = createRedis(testRedisUrl(), { name: 'apply-once' });

  afterAll(async () => {
    redis.disconnect();
  });

  it('applies an event id once and again after a failed attempt', async () => {
    const applied: string[] = [];
    await expect(
      applyOnce(redis, context.prefix, 'test', 'ev-1', async () => {
        throw new Error('handler failed');
      }),
    ).rejects.toThrow('handler failed');
    expect(await applyOnce(redis, context.prefix, 'test', 'ev-1', async () => void applied.push('first'))).toBe(true);
    expect(await applyOnce(redis, context.prefix, 'test', 'ev-1', async () => void applied.push('second'))).toBe(false);
    expect(applied).toEqual(['first']);
  });
});
