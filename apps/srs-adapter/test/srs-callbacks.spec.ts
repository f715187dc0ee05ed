import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

import { REFERENCE_DIR, readReference } from './srs-api.double';
import { startTestAdapter } from './helpers';
import type { TestAdapter } from './helpers';

interface SequenceEvent {
  path: string;
  body: Record<string, string>;
}

interface HookCapture {
  request: { body_raw: string; body: Record<string, string> };
}

let t: TestAdapter;

beforeAll(async () => {
  t = await startTestAdapter({ DEFAULT_RECONNECT_WINDOW_SECONDS: '0' });
});

afterAll(async () => {
  await t.stop();
});

async function api(method: string, path: string, body?: unknown) {
  const response = await fetch(`${t.api}${path}`, {
    method,
    headers: { authorization: `Bearer ${t.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return (await response.json()) as Record<string, any>;
}

async function callback(action: string, raw: string, secret = t.secret) {
  const response = await fetch(`${t.api}/webhooks/srs/${action}?secret=${secret}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'SRS/7.0.18(Hang)' },
    body: raw,
  });
  return { status: response.status, text: await response.text() };
}

/** Creates a stream for every path a sequence touches except those in `skip`. */
async function createStreams(events: SequenceEvent[], options: { skip?: string[]; signed?: string[] } = {}) {
  const created = new Map<string, Record<string, any>>();
  for (const event of events) {
    const [, app, name] = (event.body.stream_url ?? '').split('/');
    const path = `${app}/${name}`;
    if (created.has(path) || options.skip?.includes(name)) continue;
    const playback = options.signed?.includes(name) ? 'signed' : 'public';
    created.set(path, await api('POST', '/api/v1/streams', { app, name, playback, reconnectWindowSeconds: 0, dvr: true }));
  }
  return created;
}

/**
 * Puts the stream's real key into a captured publish, because the capture server accepted every
 * publish. Captures with a deliberately bad key (`key=bad`) or a second publisher (`dup=1`) stay.
 */
function withRealKey(body: Record<string, string>, streams: Map<string, Record<string, any>>): Record<string, string> {
  if (body.action !== 'on_publish') return body;
  const query = new URLSearchParams(body.param.replace(/^\?/, ''));
  if (query.get('key') === 'bad' || query.has('dup')) return body;
  const stream = streams.get(body.stream_url.slice(1));
  if (!stream) return body;
  query.set('key', stream.streamKey);
  return { ...body, param: `?${query.toString()}` };
}

/**
 * Moves a captured recording into the adapter's DVR_ROOT. The adapter runs embedded here, so it
 * accepts on_dvr files only under DVR_ROOT, and the captured path is on the SRS host.
 */
function withLocalRecording(body: Record<string, string>): Record<string, string> {
  if (body.action !== 'on_dvr' || !body.file) return body;
  return { ...body, file: join(t.dirs.dvr, body.app, basename(body.file)) };
}

function expectedAllow(body: Record<string, string>, streams: Map<string, Record<string, any>>): boolean {
  const stream = streams.get(body.stream_url.slice(1));
  if (body.action === 'on_publish') return !!stream && new URLSearchParams(body.param.slice(1)).get('key') === stream.streamKey;
  if (body.action === 'on_play') return !!stream && stream.stream.playback === 'public';
  return true;
}

const SEQUENCES = readdirSync(join(REFERENCE_DIR, 'sequences')).filter((file) => file.endsWith('.json')).sort();

describe('SRS callback sequences', () => {
  it.each(SEQUENCES)('replays %s with the right replies and final state', async (file) => {
    const { events } = readReference<{ events: SequenceEvent[] }>(`sequences/${file}`);
    const streams = await createStreams(events, { skip: ['nostream'], signed: ['cam3'] });

    for (const event of events) {
      const body = withLocalRecording(withRealKey(event.body, streams));
      const reply = await callback(body.action, JSON.stringify(body));
      if (expectedAllow(body, streams)) {
        expect({ action: body.action, client: body.client_id, status: reply.status, text: reply.text })
          .toEqual({ action: body.action, client: body.client_id, status: 200, text: '{"code":0}' });
      } else {
        expect({ action: body.action, client: body.client_id, status: reply.status })
          .toEqual({ action: body.action, client: body.client_id, status: 403 });
        expect(JSON.parse(reply.text).code).not.toBe(0);
      }
    }

    for (const stream of streams.values()) {
      const stat = await api('GET', `/api/v1/streams/${stream.streamId}/stat`);
      expect({ name: stream.name, state: stat.state }).toEqual({ name: stream.name, state: 'idle' });
      expect(stat.viewers).toEqual({ rtmp: 0, flv: 0, hls: 0 });
      await api('DELETE', `/api/v1/streams/${stream.streamId}`);
    }
  });

  it('applies a duplicated callback once', async () => {
    const { events } = readReference<{ events: SequenceEvent[] }>('sequences/run-A-normal-publish-and-plays.json');
    const streams = await createStreams(events);
    const stream = [...streams.values()][0];
    let midway: Record<string, any> | undefined;

    for (const [index, event] of events.entries()) {
      const body = JSON.stringify(withLocalRecording(withRealKey(event.body, streams)));
      const first = await callback(event.body.action, body);
      const second = await callback(event.body.action, body);
      expect(second).toEqual(first);
      if (index === 7) midway = await api('GET', `/api/v1/streams/${stream.streamId}/stat`);
    }

    expect(midway?.state).toBe('live');
    expect(midway?.viewers).toEqual({ rtmp: 1, flv: 1, hls: 1 });
    const types = (await t.events())
      .filter((event) => (event.data as { streamId: string }).streamId === stream.streamId)
      .map((event) => event.type);
    expect(types).toEqual(['stream.published', 'stream.dvr_ready', 'stream.ended']);
    const stat = await api('GET', `/api/v1/streams/${stream.streamId}/stat`);
    expect(stat.viewers).toEqual({ rtmp: 0, flv: 0, hls: 0 });
    await api('DELETE', `/api/v1/streams/${stream.streamId}`);
  });

  it('ignores the rejected publisher ending', async () => {
    const { events } = readReference<{ events: SequenceEvent[] }>('sequences/run-C-allow-deny-matrix.json');
    const cam3 = events.filter((event) => event.body.stream === 'cam3');
    const streams = await createStreams(cam3);
    const stream = [...streams.values()][0];
    const first = withRealKey(cam3[0].body, streams);
    expect((await callback('on_publish', JSON.stringify(first))).status).toBe(200);

    // The captured busy publisher (same stream_id, another client) with the right key this time.
    const busy = readReference<HookCapture>('hooks/on_publish-duplicate-stream-busy.json').request.body;
    const keyed = { ...busy, param: `?key=${stream.streamKey}` };
    expect((await callback('on_publish', JSON.stringify(keyed))).status).toBe(403);
    const unpublish = { ...keyed, action: 'on_unpublish' };
    expect((await callback('on_unpublish', JSON.stringify(unpublish))).text).toBe('{"code":0}');

    const after = await api('GET', `/api/v1/streams/${stream.streamId}/stat`);
    expect(after.state).toBe('live');
    expect(after.publisher.clientId).toBe(first.client_id);
    await api('DELETE', `/api/v1/streams/${stream.streamId}`);
  });
});

describe('publish takeover', () => {
  afterEach(() => {
    t.adapter.defaults.takeover = 'reject';
  });

  it('hands over in kick mode', async () => {
    const created = await api('POST', '/api/v1/streams', { name: 'takeover' });
    const base = readReference<HookCapture>('hooks/on_publish.json').request.body;
    const first = { ...base, client_id: 'first001', stream: 'takeover', stream_url: '/live/takeover', param: `?key=${created.streamKey}` };
    expect((await callback('on_publish', JSON.stringify(first))).status).toBe(200);
    const session = (await api('GET', `/api/v1/streams/${created.streamId}`)).sessionId;

    t.adapter.defaults.takeover = 'kick';
    const second = { ...first, client_id: 'second01' };
    expect((await callback('on_publish', JSON.stringify(second))).text).toBe('{"code":0}');
    const after = await api('GET', `/api/v1/streams/${created.streamId}`);
    expect(after.state).toBe('live');
    expect(after.sessionId).toBe(session);

    // The kicked first publisher's on_unpublish no longer ends the stream.
    expect((await callback('on_unpublish', JSON.stringify({ ...first, action: 'on_unpublish' }))).status).toBe(200);
    const stat = await api('GET', `/api/v1/streams/${created.streamId}/stat`);
    expect(stat.state).toBe('live');
    expect(stat.publisher.clientId).toBe('second01');
    const types = (await t.events())
      .filter((event) => (event.data as { streamId: string }).streamId === created.streamId)
      .map((event) => event.type);
    expect(types).toEqual(['stream.published', 'stream.reconnected']);
    await api('DELETE', `/api/v1/streams/${created.streamId}`);
  });
});

const HOOKS = readdirSync(join(REFERENCE_DIR, 'hooks')).filter((file) => file.endsWith('.json')).sort();

describe('SRS callback captures', () => {
  it.each(HOOKS)('answers %s as SRS expects', async (file) => {
    const capture = readReference<HookCapture>(`hooks/${file}`);
    const original = capture.request.body;
    const [, app, name] = original.stream_url.split('/');
    const signed = file.includes('denied');
    const stream = await api('POST', '/api/v1/streams', { app, name, playback: signed ? 'signed' : 'public', dvr: true });
    const streams = new Map([[`${app}/${name}`, stream]]);
    const body = withLocalRecording(withRealKey(original, streams));
    const raw = body === original ? capture.request.body_raw : JSON.stringify(body);

    const reply = await callback(original.action, raw);
    const allow = expectedAllow(body, streams) && !(signed && original.action === 'on_play');
    expect({ status: reply.status, allowed: reply.text === '{"code":0}' }).toEqual({ status: allow ? 200 : 403, allowed: allow });
    const after = await api('GET', `/api/v1/streams/${stream.streamId}`);
    const expectedState = allow && original.action === 'on_publish' ? 'live' : 'idle';
    expect(after.state).toBe(expectedState);
    await api('DELETE', `/api/v1/streams/${stream.streamId}`);
  });
});

describe('POST /webhooks/srs/on_dvr', () => {
  const capture = () => readReference<HookCapture>('hooks/on_dvr.json').request.body;

  async function recordingsOf(streamId: string): Promise<unknown[]> {
    const summaries = await api('GET', '/api/v1/dvr/summaries');
    const entry = (summaries.streams as Array<{ streamId: string; recordings: unknown[] }>).find((item) => item.streamId === streamId);
    return entry?.recordings ?? [];
  }

  it.each([
    ['a path with a .. segment', '../../../../etc/passwd'],
    ['a path that climbs out of DVR_ROOT', 'DVR/live/../../../etc/passwd'],
    ['an absolute path outside DVR_ROOT', '/etc/passwd'],
    ['DVR_ROOT itself', 'DVR'],
  ])('denies %s and records nothing', async (_case, file) => {
    const stream = await api('POST', '/api/v1/streams', { name: 'cam1', dvr: true });
    const body = { ...capture(), file: file.replace(/^DVR/, t.dirs.dvr) };

    const reply = await callback('on_dvr', JSON.stringify(body));

    expect(reply.status).toBe(403);
    expect(JSON.parse(reply.text).code).not.toBe(0);
    expect(await recordingsOf(stream.streamId)).toEqual([]);
    await api('DELETE', `/api/v1/streams/${stream.streamId}`);
  });

  it('records a file inside DVR_ROOT', async () => {
    const stream = await api('POST', '/api/v1/streams', { name: 'cam1', dvr: true });
    const file = join(t.dirs.dvr, 'live', 'cam1.1796398770348.flv');

    const reply = await callback('on_dvr', JSON.stringify({ ...capture(), file }));

    expect(reply).toEqual({ status: 200, text: '{"code":0}' });
    expect(await recordingsOf(stream.streamId)).toEqual([expect.objectContaining({ file })]);
    await api('DELETE', `/api/v1/streams/${stream.streamId}`);
  });

  it('deletes the recording of a stream without DVR', async () => {
    const stream = await api('POST', '/api/v1/streams', { name: 'cam1', dvr: false });
    const file = join(t.dirs.dvr, 'live', 'cam1.1796398770999.flv');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, 'FLV');

    const reply = await callback('on_dvr', JSON.stringify({ ...capture(), file }));

    expect(reply).toEqual({ status: 200, text: '{"code":0}' });
    expect(existsSync(file)).toBe(false);
    expect(await recordingsOf(stream.streamId)).toEqual([]);
    await api('DELETE', `/api/v1/streams/${stream.streamId}`);
  });
});
