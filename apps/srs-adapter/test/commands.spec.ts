import { CommandClient } from '@castplane/redis';

import { startTestAdapter } from './helpers';
import type { TestAdapter } from './helpers';

let t: TestAdapter;
let client: CommandClient;

beforeAll(async () => {
  t = await startTestAdapter();
  client = new CommandClient({ redisUrl: t.config.REDIS_URL, prefix: t.config.REDIS_KEY_PREFIX, logger: t.adapter.logger });
});

afterAll(async () => {
  await client.close();
  await t.stop();
});

describe('srs-adapter commands', () => {
  it('creates a stream idempotently on requestId', async () => {
    const payload = { requestId: 'orch-1', name: 'cmd-stream', dvr: true };
    const first = await client.send('srs-adapter', 'stream.create', payload);
    const second = await client.send('srs-adapter', 'stream.create', payload);
    expect(second.streamId).toBe(first.streamId);
    expect(second.streamKey).toBe(first.streamKey);
    expect(first.rtmpUrl).toBe(`${t.rtmp}/live/cmd-stream?key=${encodeURIComponent(first.streamKey)}`);
    expect(first.hlsUrl).toBe(`${t.media}/live/cmd-stream.m3u8`);
    expect(first.flvUrl).toBe(`${t.media}/live/cmd-stream.flv`);
    const state = await client.send('srs-adapter', 'stream.get', { streamId: first.streamId });
    expect(state).toEqual({ streamId: first.streamId, state: 'idle' });
  });

  it('rejects an invalid create payload', async () => {
    await expect(client.send('srs-adapter', 'stream.create', { requestId: 'orch-2', name: '../x' }, { attempts: 1 })).rejects.toMatchObject({
      code: 'invalid_argument',
    });
    const list = await fetch(`${t.api}/api/v1/streams`, { headers: { authorization: `Bearer ${t.token}` } }).then((reply) => reply.json() as Promise<Record<string, any>>);
    expect(list.items.some((item: { name: string }) => item.name === '../x')).toBe(false);
  });

  it('unpublishes and deletes a stream', async () => {
    const created = await client.send('srs-adapter', 'stream.create', { requestId: 'orch-3', name: 'cmd-delete' });
    const unpublished = await client.send('srs-adapter', 'stream.unpublish', { streamId: created.streamId });
    expect(unpublished).toEqual({ streamId: created.streamId, kicked: false });
    const deleted = await client.send('srs-adapter', 'stream.delete', { streamId: created.streamId });
    expect(deleted).toEqual({ streamId: created.streamId, deleted: true });
    const again = await client.send('srs-adapter', 'stream.delete', { streamId: created.streamId });
    expect(again).toEqual({ streamId: created.streamId, deleted: false });
    const events = await t.events();
    expect(events.filter((event) => event.type === 'stream.deleted' && (event.data as { streamId: string }).streamId === created.streamId)).toHaveLength(1);
    await expect(client.send('srs-adapter', 'stream.get', { streamId: created.streamId }, { attempts: 1 })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('applies known settings and ignores the rest', async () => {
    const result = await client.send('srs-adapter', 'config.apply', {
      settings: { reconnectWindowSeconds: 42, takeover: 'reject', unknownSetting: 1 },
    });
    expect(result.changed).toEqual({ reconnectWindowSeconds: { from: 10, to: 42 } });
    expect(result.ignored).toEqual(['unknownSetting']);
    const created = await client.send('srs-adapter', 'stream.create', { requestId: 'orch-4', name: 'cmd-defaults' });
    const stream = await fetch(`${t.api}/api/v1/streams/${created.streamId}`, { headers: { authorization: `Bearer ${t.token}` } }).then((reply) => reply.json() as Promise<Record<string, any>>);
    expect(stream.reconnectWindowSeconds).toBe(42);
    await expect(client.send('srs-adapter', 'config.apply', { settings: { takeover: 'sometimes' } }, { attempts: 1 })).rejects.toMatchObject({
      code: 'invalid_argument',
    });
  });

  it('keeps applied settings across a restart', async () => {
    await client.send('srs-adapter', 'config.apply', { settings: { reconnectWindowSeconds: 77, dvr: true } });
    const restarted = await startTestAdapter({ REDIS_KEY_PREFIX: t.config.REDIS_KEY_PREFIX });
    try {
      expect(restarted.adapter.defaults).toMatchObject({ reconnectWindowSeconds: 77, dvr: true, takeover: 'reject' });
    } finally {
      await restarted.stop();
    }
  });
});
