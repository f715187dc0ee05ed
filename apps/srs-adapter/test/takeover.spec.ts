import type { ChildProcess } from 'node:child_process';

import { ffprobe, publishTestSource, waitFor } from '@castplane/testing';

import { apiCall, startTestAdapter } from './helpers';
import type { TestAdapter } from './helpers';

let t: TestAdapter;
const publishers: ChildProcess[] = [];

beforeAll(async () => {
  t = await startTestAdapter({ PUBLISH_TAKEOVER: 'kick' });
});

afterAll(async () => {
  for (const child of publishers) if (child.exitCode === null) child.kill('SIGKILL');
  await t.stop();
});

const call = (method: string, path: string, body?: unknown) => apiCall(t, method, path, body);

function publish(url: string): ChildProcess {
  const child = publishTestSource(url);
  publishers.push(child);
  return child;
}

const publisherOf = async (streamId: string): Promise<string | undefined> =>
  (await call('GET', `/api/v1/streams/${streamId}/stat`)).body.publisher?.clientId;

describe('embedded ingest with PUBLISH_TAKEOVER=kick', () => {
  it('replaces the live publisher at once', async () => {
    const stream = (await call('POST', '/api/v1/streams', { name: 'takeover-cam', reconnectWindowSeconds: 0 })).body;
    const first = publish(stream.rtmpUrl);
    const firstClient = await waitFor(() => publisherOf(stream.streamId), { timeoutMs: 20000, what: 'first publisher live' });
    const firstExit = new Promise<void>((resolve) => first.once('exit', () => resolve()));

    const second = publish(stream.rtmpUrl);
    const secondClient = await waitFor(async () => {
      const client = await publisherOf(stream.streamId);
      return client && client !== firstClient ? client : undefined;
    }, { timeoutMs: 20000, what: 'second publisher live' });
    await firstExit;
    const flv = await ffprobe(stream.flvUrl);

    expect(secondClient).not.toBe(firstClient);
    expect(second.exitCode).toBeNull();
    expect(flv.streams.find((item) => item.codec_type === 'video')?.codec_name).toBe('h264');
    expect((await call('GET', `/api/v1/streams/${stream.streamId}`)).body.state).toBe('live');
    expect(t.logs.output).toContain('publisher taken over');
  });
});
