import { waitFor } from '@castplane/testing';

import { SrsApiDouble, readReference } from './srs-api.double';
import { startTestAdapter } from './helpers';
import type { TestAdapter } from './helpers';

interface HookCapture {
  request: { body: Record<string, string> };
}

let t: TestAdapter;
const srs = new SrsApiDouble();

beforeAll(async () => {
  const url = await srs.start();
  t = await startTestAdapter({ SRS_API_URL: url, DEFAULT_RECONNECT_WINDOW_SECONDS: '0', RECONCILE_INTERVAL_MS: '300' });
});

afterAll(async () => {
  await t.stop();
  await srs.stop();
});

beforeEach(() => {
  srs.streams = 'streams';
  srs.clients = 'clients';
  srs.calls.length = 0;
});

async function api(method: string, path: string, body?: unknown) {
  const response = await fetch(`${t.api}${path}`, {
    method,
    headers: { authorization: `Bearer ${t.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

/** Publishes the captured run D publisher (live/cam1, client 2119667p) with the stream's key. */
async function publishCam1(clientId = '2119667p') {
  const created = await api('POST', '/api/v1/streams', { name: 'cam1' });
  const stream = created.status === 201 ? created.body : (await api('GET', '/api/v1/streams?limit=200')).body.items.find((item: { name: string }) => item.name === 'cam1');
  const key = created.body.streamKey;
  const body = { ...readReference<HookCapture>('hooks/on_publish.json').request.body, client_id: clientId, param: `?key=${key}` };
  const reply = await fetch(`${t.api}/webhooks/srs/on_publish?secret=${t.secret}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  expect(reply.status).toBe(200);
  return stream as Record<string, any>;
}

describe('external SRS mode', () => {
  it('reports stat from the SRS API', async () => {
    const stream = await publishCam1();
    const stat = await api('GET', `/api/v1/streams/${stream.streamId}/stat`);
    expect(stat.status).toBe(200);
    expect(stat.body.state).toBe('live');
    expect(stat.body.video).toEqual({ codec: 'H264', width: 640, height: 352 });
    expect(stat.body.audio).toEqual({ codec: 'AAC', sampleRate: 44100, channels: 2 });
    expect(stat.body.kbps).toEqual({ in: 308, out: 940 });
    expect(stat.body.bytes).toEqual({ in: 1307215, out: 3759894 });
    expect(stat.body.publisher.clientId).toBe('2119667p');
    expect(stat.body.viewers).toEqual({ rtmp: 1, flv: 1, hls: 1 });
    expect(srs.calls).toContain('GET /api/v1/streams/vid-m49ph55');
    await api('DELETE', `/api/v1/streams/${stream.streamId}`);
  });

  it('kicks the publisher and its players through the SRS API', async () => {
    const stream = await publishCam1();
    const reply = await api('POST', `/api/v1/streams/${stream.streamId}/unpublish`, {});
    expect(reply.status).toBe(200);
    expect(reply.body.kicked).toBe(true);
    expect(reply.body.state).toBe('idle');
    expect(srs.calls).toEqual(expect.arrayContaining([
      'DELETE /api/v1/clients/2119667p',
      'DELETE /api/v1/clients/05gqb846',
      'DELETE /api/v1/clients/284893g3',
      'DELETE /api/v1/clients/73y1a1lc',
    ]));
    await api('DELETE', `/api/v1/streams/${stream.streamId}`);
  });

  it('treats SRS code 2048 as a stream SRS does not have', async () => {
    srs.streams = 'streams-empty';
    srs.clients = 'clients-empty';
    const created = await api('POST', '/api/v1/streams', { name: 'cam-missing' });
    const body = { ...readReference<HookCapture>('hooks/on_publish.json').request.body, stream: 'cam-missing', stream_url: '/live/cam-missing', param: `?key=${created.body.streamKey}` };
    await fetch(`${t.api}/webhooks/srs/on_publish?secret=${t.secret}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    srs.streams = 'streams';
    const stat = await api('GET', `/api/v1/streams/${created.body.streamId}/stat`);
    expect(stat.status).toBe(200);
    expect(stat.body.video).toBeNull();
    expect(srs.calls).toContain('GET /api/v1/streams/vid-m49ph55');
    const kick = await api('POST', `/api/v1/streams/${created.body.streamId}/unpublish`, {});
    expect(kick.body.kicked).toBe(false);
    await api('DELETE', `/api/v1/streams/${created.body.streamId}`);
  });

  it('reports SRS summaries and version', async () => {
    const summaries = await api('GET', '/api/v1/server/summaries');
    expect(summaries.status).toBe(200);
    expect(summaries.body.mediaServer.source).toBe('srs');
    expect(summaries.body.mediaServer.self.version).toBe('7.0.18');
    expect(summaries.body.streams).toEqual(expect.objectContaining({ total: expect.any(Number) }));
    const info = await api('GET', '/api/v1/server/info');
    expect(info.body.mode).toBe('external');
    expect(info.body.mediaServer).toBe('SRS 7.0.18');
  });

  it('reconciles a missed on_unpublish from the stream list', async () => {
    const stream = await publishCam1('r3c0n511');
    expect((await api('GET', `/api/v1/streams/${stream.streamId}`)).body.state).toBe('live');
    srs.streams = 'streams-after-unpublish-inactive';
    await waitFor(async () => (await api('GET', `/api/v1/streams/${stream.streamId}`)).body.state === 'idle', {
      timeoutMs: 15000, what: 'reconciled idle state',
    });
    expect((await api('GET', `/api/v1/streams/${stream.streamId}`)).body.state).toBe('idle');
    const ended = (await t.events()).filter((event) => event.type === 'stream.ended' && (event.data as { streamId: string }).streamId === stream.streamId);
    expect(ended.length).toBe(1);
    await api('DELETE', `/api/v1/streams/${stream.streamId}`);
  });
});

describe('POST /webhooks/srs/on_dvr with an external SRS', () => {
  async function onDvr(file: string) {
    const body = { ...readReference<HookCapture>('hooks/on_dvr.json').request.body, file };
    const reply = await fetch(`${t.api}/webhooks/srs/on_dvr?secret=${t.secret}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    return { status: reply.status, text: await reply.text() };
  }

  async function recordedFiles(streamId: string): Promise<string[]> {
    const summaries = (await api('GET', '/api/v1/dvr/summaries')).body;
    const entry = (summaries.streams as Array<{ streamId: string; recordings: Array<{ file: string }> }>).find((item) => item.streamId === streamId);
    return (entry?.recordings ?? []).map((recording) => recording.file);
  }

  it('records a file outside DVR_ROOT', async () => {
    const stream = (await api('POST', '/api/v1/streams', { name: 'cam1', dvr: true })).body;
    const captured = readReference<HookCapture>('hooks/on_dvr.json').request.body.file;

    expect(await onDvr(captured)).toEqual({ status: 200, text: '{"code":0}' });
    expect(await recordedFiles(stream.streamId)).toEqual([captured]);
    await api('DELETE', `/api/v1/streams/${stream.streamId}`);
  });

  it('leaves a file outside DVR_ROOT unindexed when DVR is off', async () => {
    const stream = (await api('POST', '/api/v1/streams', { name: 'cam1', dvr: false })).body;
    const captured = readReference<HookCapture>('hooks/on_dvr.json').request.body.file;

    expect(await onDvr(captured)).toEqual({ status: 200, text: '{"code":0}' });
    expect(await recordedFiles(stream.streamId)).toEqual([]);
    expect(t.logs.output).toContain('recording not indexed and left in place');
    await api('DELETE', `/api/v1/streams/${stream.streamId}`);
  });

  it.each(['/usr/local/srs/dvr/../../../../etc/passwd', '../../../../etc/passwd'])('denies %s and records nothing', async (file) => {
    const stream = (await api('POST', '/api/v1/streams', { name: 'cam1', dvr: true })).body;

    expect(await onDvr(file)).toEqual({ status: 403, text: '{"code":403}' });
    expect(await recordedFiles(stream.streamId)).toEqual([]);
    await api('DELETE', `/api/v1/streams/${stream.streamId}`);
  });
});
