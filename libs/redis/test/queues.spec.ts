import { AppError } from '@castplane/errors';
import { createLogger } from '@castplane/logging';
import { CommandClient, EventPublisher, applyOnce, createRedis, serveCommands, subscribeEvents } from '@castplane/redis';
import type { QueueContext } from '@castplane/redis';
import type { EventEnvelope } from '@castplane/contracts';
import { LogCapture, testRedisUrl, uniquePrefix, waitFor } from '@castplane/testing';

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

  it('reports deadline_exceeded when no worker answers in time', async () => {
    const sending = client.send('encoder', 'transcode.stop', { streamKey: 'k' }, { timeoutMs: 300 });
    await expect(sending).rejects.toMatchObject({ code: 'deadline_exceeded' });
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
