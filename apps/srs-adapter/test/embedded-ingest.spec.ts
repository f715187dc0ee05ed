import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { ffprobe, publishTestSource, waitFor } from '@castplane/testing';

import { apiCall, startTestAdapter } from './helpers';
import type { TestAdapter } from './helpers';

let t: TestAdapter;
const children: ChildProcess[] = [];

beforeAll(async () => {
  t = await startTestAdapter();
});

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

afterAll(async () => {
  await t.stop();
});

const call = (method: string, path: string, body?: unknown) => apiCall(t, method, path, body);

async function createStream(name: string, extra: Record<string, unknown> = {}) {
  const created = await call('POST', '/api/v1/streams', { name, ...extra });
  expect(created.status).toBe(201);
  return created.body;
}

function publish(url: string, seconds?: number): ChildProcess {
  const child = publishTestSource(url, { seconds });
  children.push(child);
  return child;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

async function state(streamId: string): Promise<string> {
  return (await call('GET', `/api/v1/streams/${streamId}`)).body.state;
}

function waitForState(streamId: string, expected: string, timeoutMs = 20000) {
  return waitFor(async () => (await state(streamId)) === expected, { timeoutMs, what: `stream ${streamId} ${expected}` });
}

function findFiles(dir: string, pattern: RegExp): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && pattern.test(entry.name)) found.push(join(entry.parentPath, entry.name));
  }
  return found;
}

describe('embedded ingest', () => {
  it('publishes, plays and unpublishes', async () => {
    const stream = await createStream('e2e-main', { reconnectWindowSeconds: 0 });
    const publisher = publish(stream.rtmpUrl);
    await waitForState(stream.streamId, 'live');

    const stat = await waitFor(async () => {
      const reply = await call('GET', `/api/v1/streams/${stream.streamId}/stat`);
      return reply.body.video ? reply.body : undefined;
    }, { timeoutMs: 15000, what: 'video stat' });
    expect(stat.state).toBe('live');
    expect(stat.video.codec).toBe('H264');
    expect(stat.video.width).toBe(640);
    expect(stat.video.height).toBe(360);
    expect(stat.video.fps).toBe(25);
    expect(stat.audio.codec).toBe('AAC');
    expect(stat.publisher.clientId).toEqual(expect.any(String));

    const flv = await ffprobe(stream.flvUrl);
    expect(flv.format.format_name).toBe('flv');
    expect(flv.streams.find((item) => item.codec_type === 'video')?.codec_name).toBe('h264');
    expect(flv.streams.find((item) => item.codec_type === 'audio')?.codec_name).toBe('aac');

    await waitFor(async () => (await fetch(stream.hlsUrl)).status === 200, { timeoutMs: 20000, what: 'HLS playlist' });
    const hls = await ffprobe(stream.hlsUrl);
    expect(hls.format.format_name).toBe('hls');
    expect(hls.streams.find((item) => item.codec_type === 'video')?.width).toBe(640);

    const unpublished = await call('POST', `/api/v1/streams/${stream.streamId}/unpublish`, {});
    expect(unpublished.status).toBe(200);
    expect(unpublished.body.kicked).toBe(true);
    expect(unpublished.body.state).toBe('idle');
    await exited(publisher);
    expect(publisher.exitCode).not.toBe(0);
    expect(await state(stream.streamId)).toBe('idle');

    const events = (await t.events()).filter((event) => (event.data as { streamId: string }).streamId === stream.streamId);
    expect(events.map((event) => event.type)).toEqual(['stream.published', 'stream.ended']);
  });

  it('publishes and plays dotted names', async () => {
    const stream = await createStream('cam.main', { app: 'studio.a', reconnectWindowSeconds: 0 });
    expect(stream.rtmpUrl).toContain('/studio.a/cam.main?');
    publish(stream.rtmpUrl);
    await waitForState(stream.streamId, 'live');

    const flv = await ffprobe(stream.flvUrl);
    expect(flv.streams.find((item) => item.codec_type === 'video')?.codec_name).toBe('h264');
    await waitFor(async () => (await fetch(stream.hlsUrl)).status === 200, { timeoutMs: 20000, what: 'HLS playlist' });
    const hls = await ffprobe(stream.hlsUrl);
    expect(hls.streams.find((item) => item.codec_type === 'video')?.width).toBe(640);

    const unpublished = await call('POST', `/api/v1/streams/${stream.streamId}/unpublish`, {});
    expect(unpublished.body.kicked).toBe(true);
  });

  it('plays a live stream over RTMP', async () => {
    const stream = await createStream('rtmp-play', { reconnectWindowSeconds: 0 });
    publish(stream.rtmpUrl);
    await waitForState(stream.streamId, 'live');

    const probe = await ffprobe(`${t.rtmp}/live/rtmp-play`);
    expect(probe.streams.find((item) => item.codec_type === 'video')?.codec_name).toBe('h264');
  });

  it('rejects wrong keys and unknown streams', async () => {
    const stream = await createStream('e2e-wrong-key');
    const wrong = publish(`${t.rtmp}/live/e2e-wrong-key?key=not-the-key`, 5);
    const unknown = publish(`${t.rtmp}/live/e2e-no-such-stream?key=${stream.streamKey}`, 5);
    const missing = publish(`${t.rtmp}/live/e2e-wrong-key`, 5);
    expect(await exited(wrong)).not.toBe(0);
    expect(await exited(unknown)).not.toBe(0);
    expect(await exited(missing)).not.toBe(0);
    expect(await state(stream.streamId)).toBe('idle');
    expect(t.logs.output).toContain('"reason":"wrong_key"');
    expect(t.logs.output).toContain('"reason":"unknown_stream"');
    expect(t.logs.output).toContain('"reason":"missing_key"');
    expect(t.logs.output).not.toContain(stream.streamKey);
  });

  it('rejects a second publisher', async () => {
    const stream = await createStream('e2e-busy');
    const first = publish(stream.rtmpUrl);
    await waitForState(stream.streamId, 'live');
    const before = (await call('GET', `/api/v1/streams/${stream.streamId}/stat`)).body.publisher.clientId;

    const second = publish(stream.rtmpUrl, 5);
    expect(await exited(second)).not.toBe(0);
    expect(first.exitCode).toBeNull();
    const after = await call('GET', `/api/v1/streams/${stream.streamId}/stat`);
    expect(after.body.state).toBe('live');
    expect(after.body.publisher.clientId).toBe(before);
    expect(t.logs.output).toContain('"reason":"stream_busy"');
    const flv = await ffprobe(stream.flvUrl);
    expect(flv.streams.some((item) => item.codec_type === 'video')).toBe(true);
  });

  it('keeps the session on reconnect', async () => {
    const stream = await createStream('e2e-reconnect', { reconnectWindowSeconds: 30 });
    const first = publish(stream.rtmpUrl, 3);
    await waitForState(stream.streamId, 'live');
    const session = (await call('GET', `/api/v1/streams/${stream.streamId}`)).body.sessionId;
    await exited(first);
    await waitForState(stream.streamId, 'reconnecting');

    publish(stream.rtmpUrl);
    await waitForState(stream.streamId, 'live');
    expect((await call('GET', `/api/v1/streams/${stream.streamId}`)).body.sessionId).toBe(session);
    const types = (await t.events())
      .filter((event) => (event.data as { streamId: string }).streamId === stream.streamId)
      .map((event) => event.type);
    expect(types).toEqual(['stream.published', 'stream.reconnected']);
  });

  it('requires a token for signed playback', async () => {
    const stream = await createStream('e2e-signed', { playback: 'signed' });
    publish(stream.rtmpUrl);
    await waitForState(stream.streamId, 'live');

    const rejected = await fetch(stream.flvUrl);
    expect(rejected.status).toBe(403);
    expect(await rejected.json()).toMatchObject({ code: 'permission_denied', requestId: expect.any(String) });
    expect((await fetch(stream.hlsUrl)).status).toBe(403);
    expect((await fetch(`${stream.flvUrl}?token=1.${'a'.repeat(43)}`)).status).toBe(403);
    const issued = await call('POST', `/api/v1/streams/${stream.streamId}/playback-tokens`, {});
    expect(issued.status).toBe(201);
    const flv = await ffprobe(`${stream.flvUrl}?token=${issued.body.token}`);
    expect(flv.streams.some((item) => item.codec_type === 'video')).toBe(true);
    const hlsUrl = `${stream.hlsUrl}?token=${issued.body.token}`;
    await waitFor(async () => (await fetch(hlsUrl)).status === 200, { timeoutMs: 20000, what: 'signed HLS playlist' });
    const hls = await ffprobe(hlsUrl);
    expect(hls.streams.some((item) => item.codec_type === 'video')).toBe(true);
  });

  it('rejects publishing while disabled', async () => {
    const stream = await createStream('e2e-disable', { reconnectWindowSeconds: 0 });
    const first = publish(stream.rtmpUrl);
    await waitForState(stream.streamId, 'live');
    const reply = await call('POST', `/api/v1/streams/${stream.streamId}/unpublish`, { disable: true });
    expect(reply.body.publishEnabled).toBe(false);
    await exited(first);

    const refused = publish(stream.rtmpUrl, 5);
    expect(await exited(refused)).not.toBe(0);
    expect(t.logs.output).toContain('"reason":"publish_disabled"');
    expect(await state(stream.streamId)).toBe('idle');

    const allowed = await call('POST', `/api/v1/streams/${stream.streamId}/publish`, {});
    expect(allowed.body.publishEnabled).toBe(true);
    publish(stream.rtmpUrl);
    await waitForState(stream.streamId, 'live');
  });

  it('ingests and stops a file source', async () => {
    const file = join(t.dirs.media, 'sources', 'clip.flv');
    mkdirSync(dirname(file), { recursive: true });
    const maker = spawn('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine',
      '-t', '20', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-c:a', 'aac', file,
    ]);
    expect(await exited(maker)).toBe(0);
    const stream = await createStream('e2e-source', { reconnectWindowSeconds: 0 });

    const started = await call('POST', `/api/v1/streams/${stream.streamId}/publish`, { source: 'sources/clip.flv' });
    expect(started.status).toBe(200);
    expect(started.body.ingest.pid).toBeGreaterThan(0);
    await waitForState(stream.streamId, 'live');
    const probe = await ffprobe(stream.flvUrl);
    expect(probe.streams.find((item) => item.codec_type === 'video')?.width).toBe(320);

    const stopped = await call('POST', `/api/v1/streams/${stream.streamId}/unpublish`, {});
    expect(stopped.body.ingestStopped).toBe(true);
    expect(stopped.body.state).toBe('idle');
  });

  it('serves media files but not the remux', async () => {
    mkdirSync(join(t.dirs.media, 'ladders', 'show'), { recursive: true });
    mkdirSync(join(t.dirs.media, '.live', 'live', 'hidden'), { recursive: true });
    writeFileSync(join(t.dirs.media, 'ladders', 'show', 'master.m3u8'), '#EXTM3U\n');
    writeFileSync(join(t.dirs.media, '.live', 'live', 'hidden', 'hidden.m3u8'), '#EXTM3U\n');

    const served = await fetch(`${t.media}/media/ladders/show/master.m3u8`);
    expect(served.status).toBe(200);
    expect(await served.text()).toBe('#EXTM3U\n');
    expect((await fetch(`${t.media}/media/.live/live/hidden/hidden.m3u8`)).status).toBe(404);
    const missingFile = await fetch(`${t.media}/media/ladders/missing.m3u8`);
    expect(missingFile.status).toBe(404);
    expect(await missingFile.json()).toMatchObject({ code: 'not_found', message: 'file not found' });
    const missingStream = await fetch(`${t.media}/live/no-such-stream.flv`);
    expect(missingStream.status).toBe(404);
    expect(await missingStream.json()).toMatchObject({ code: 'not_found', message: 'stream not found' });
    expect((await fetch(`${t.media}/live/no-such-stream.m3u8`)).status).toBe(404);
  });

  it.each([
    ['a file in a dot-folder', '.uploads/pending', '/media/.uploads/pending'],
    ['a file in an encoded dot-folder', '.uploads/encoded', '/media/%2Euploads/encoded'],
    ['a dot-file', 'ladders/.env', '/media/ladders/.env'],
  ])('does not serve %s under /media', async (_case, file, path) => {
    mkdirSync(join(t.dirs.media, file, '..'), { recursive: true });
    writeFileSync(join(t.dirs.media, file), 'private\n');

    const reply = await fetch(`${t.media}${path}`);

    expect(reply.status).toBe(404);
    expect(await reply.text()).not.toContain('private');
  });

  it('records with DVR and deletes the recording', async () => {
    const stream = await createStream('e2e-dvr', { dvr: true, reconnectWindowSeconds: 0 });
    const publishedSeconds = 6;
    const publisher = publish(stream.rtmpUrl, publishedSeconds);
    await waitForState(stream.streamId, 'live');
    await exited(publisher);
    await waitForState(stream.streamId, 'idle');

    const summaries = await waitFor(async () => {
      const reply = await call('GET', '/api/v1/dvr/summaries');
      return reply.body.streams.find((item: { streamId: string }) => item.streamId === stream.streamId);
    }, { timeoutMs: 10000, what: 'DVR summary' });
    expect(summaries.files).toBe(1);
    const file = summaries.recordings[0].file as string;
    const probe = await ffprobe(file);
    expect(Math.abs(Number(probe.format.duration) - publishedSeconds)).toBeLessThanOrEqual(2);
    expect(probe.streams.some((item) => item.codec_type === 'video')).toBe(true);
    expect(findFiles(t.dirs.dvr, /\.tmp$/)).toEqual([]);
    expect(findFiles(t.dirs.dvr, /\.flv$/)).toContain(file);

    const events = await t.events();
    expect(events.some((event) => event.type === 'stream.dvr_ready' && (event.data as { file: string }).file === file)).toBe(true);

    const deleted = await call('DELETE', `/api/v1/dvr/${stream.streamId}`);
    expect(deleted.body.deletedFiles).toBe(1);
    expect(findFiles(t.dirs.dvr, /\.flv$/)).not.toContain(file);
    const after = await call('GET', '/api/v1/dvr/summaries');
    expect(after.body.streams.some((item: { streamId: string }) => item.streamId === stream.streamId)).toBe(false);
  });
});
