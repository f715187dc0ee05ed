import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

import { baseTestEnv, freePort, isListening, waitFor } from '@castplane/testing';

import { loadConfigFromEnv } from '../src/config';
import { apiCall, startTestAdapter } from './helpers';
import type { TestAdapter } from './helpers';

let strict: TestAdapter;
let open: TestAdapter;
const children: ChildProcess[] = [];

beforeAll(async () => {
  strict = await startTestAdapter();
  open = await startTestAdapter({ INGEST_ALLOWED_HOSTS: '127.0.0.1' });
});

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

afterAll(async () => {
  await strict.stop();
  await open.stop();
});


async function createStream(t: TestAdapter, name: string): Promise<Record<string, any>> {
  const created = await apiCall(t, 'POST', '/api/v1/streams', { name, reconnectWindowSeconds: 0 });
  expect(created.status).toBe(201);
  return created.body;
}

describe('POST /api/v1/streams/{streamId}/publish with a URL source', () => {
  it('rejects the metadata endpoint without changing the stream', async () => {
    const stream = await createStream(strict, 'policy-metadata');
    await apiCall(strict, 'POST', `/api/v1/streams/${stream.streamId}/unpublish`, { disable: true });

    const reply = await apiCall(strict, 'POST', `/api/v1/streams/${stream.streamId}/publish`, { source: 'http://169.254.169.254/latest/meta-data/' });
    const after = await apiCall(strict, 'GET', `/api/v1/streams/${stream.streamId}`);

    expect(reply.status).toBe(400);
    expect(reply.body.code).toBe('invalid_argument');
    expect(reply.body.details[0].field).toBe('body.source');
    expect(reply.body.details[0].message).toContain('link-local or cloud metadata');
    expect(after.body.publishEnabled).toBe(false);
    expect(strict.logs.lines().some((line) => line.msg === 'source ingest started')).toBe(false);
  });

  it('rejects a loopback address by default', async () => {
    const stream = await createStream(strict, 'policy-loopback');

    const reply = await apiCall(strict, 'POST', `/api/v1/streams/${stream.streamId}/publish`, { source: `${strict.rtmp}/live/policy-other` });

    expect(reply.status).toBe(400);
    expect(reply.body.details[0].field).toBe('body.source');
    expect(reply.body.message).toContain('host 127.0.0.1 is not allowed: it resolves to a loopback address');
    expect(reply.body.message).toContain('INGEST_ALLOWED_HOSTS');
  });

  it('rejects a source URL over 2048 characters', async () => {
    const stream = await createStream(strict, 'policy-long');

    const reply = await apiCall(strict, 'POST', `/api/v1/streams/${stream.streamId}/publish`, { source: `rtmp://10.0.0.1/live/${'a'.repeat(2100)}` });

    expect(reply.status).toBe(400);
    expect(reply.body.details[0].field).toBe('body.source');
  });

  it('rejects a host name that resolves to loopback', async () => {
    const stream = await createStream(strict, 'policy-localhost');

    const reply = await apiCall(strict, 'POST', `/api/v1/streams/${stream.streamId}/publish`, { source: 'rtmp://localhost:1935/live/policy-other?key=sk_hidden' });

    expect(reply.status).toBe(400);
    expect(reply.body.details[0].field).toBe('body.source');
    expect(reply.body.message).toContain('host localhost is not allowed');
    expect(JSON.stringify(reply.body)).not.toContain('sk_hidden');
  });

  it('ingests from a loopback URL listed in INGEST_ALLOWED_HOSTS', async () => {
    // An ffmpeg in RTMP listen mode acts as a camera on this host and serves the test pattern to
    // the first client that plays the URL.
    const port = await freePort();
    const upstream = `rtmp://127.0.0.1:${port}/live/camera`;
    children.push(spawn('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-c:a', 'aac', '-f', 'flv', '-listen', '1', upstream,
    ], { stdio: 'ignore' }));
    await waitFor(async () => isListening(port), { timeoutMs: 15000, what: 'RTMP listener' });
    const relay = await createStream(open, 'policy-relay');

    // NOTE: with `-c copy` the embedded RTMP server closes this relay's connection right after the
    // publish is allowed, so the ingest re-encodes.
    const reply = await apiCall(open, 'POST', `/api/v1/streams/${relay.streamId}/publish`, { source: upstream, transcode: true });

    expect(reply.status).toBe(200);
    expect(reply.body.ingest.pid).toBeGreaterThan(0);
    await waitFor(async () => (await apiCall(open, 'GET', `/api/v1/streams/${relay.streamId}`)).body.state === 'live', { timeoutMs: 30000, what: 'relay live' });
    const stopped = await apiCall(open, 'POST', `/api/v1/streams/${relay.streamId}/unpublish`, {});
    expect(stopped.body.ingestStopped).toBe(true);
  });

  it('rejects metadata when loopback is listed', async () => {
    const stream = await createStream(open, 'policy-open-metadata');

    const reply = await apiCall(open, 'POST', `/api/v1/streams/${stream.streamId}/publish`, { source: 'http://169.254.169.254/' });

    expect(reply.status).toBe(400);
    expect(reply.body.details[0].field).toBe('body.source');
  });
});

describe('INGEST_ALLOWED_HOSTS', () => {
  it('rejects an invalid entry at startup', () => {
    const env = baseTestEnv('srs-adapter', { SRS_CALLBACK_SECRET: 'x'.repeat(32), INGEST_ALLOWED_HOSTS: 'cameras.lan,10.0.0.0/40' });

    expect(() => loadConfigFromEnv(env)).toThrow(/INGEST_ALLOWED_HOSTS.*invalid CIDR range "10.0.0.0\/40"/s);
  });
});
