import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

import { signServiceToken } from '@castplane/auth';
import { TEST_JWT_SECRET, ffprobe, publishTestSource, tempDir, testToken, waitFor } from '@castplane/testing';

import { apiCall, startTestAdapter } from './helpers';
import type { TestAdapter } from './helpers';

let t: TestAdapter;
let publisher: ChildProcess | undefined;
let stream: Record<string, any>;

const call = (method: string, path: string, body?: unknown) => apiCall(t, method, path, body);

function rtmpPlayUrl(token: string): string {
  return `${t.rtmp}/live/${stream.stream.name}?token=${token}`;
}

function flvPlayUrl(token: string): string {
  return `${stream.flvUrl}?token=${token}`;
}

function hasVideo(probe: Awaited<ReturnType<typeof ffprobe>>): boolean {
  return probe.streams.some((item) => item.codec_type === 'video');
}

/**
 * Copies `seconds` of a live RTMP play into a file and returns the duration that ffprobe reads
 * from it: 0 when the play was denied and nothing arrived.
 */
async function recordedSeconds(url: string, seconds: number): Promise<number> {
  const dir = tempDir('srs-play');
  const file = join(dir.path, 'play.ts');
  try {
    const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', url, '-t', String(seconds), '-c', 'copy', '-f', 'mpegts', file], {
      stdio: 'ignore',
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 20) * 1000);
    await new Promise((resolve) => child.once('exit', resolve));
    clearTimeout(timer);
    const probe = await ffprobe(file).catch(() => undefined);
    return Number(probe?.format.duration ?? 0);
  } finally {
    dir.cleanup();
  }
}

function serviceTokenPlays(): Record<string, unknown>[] {
  return t.logs.lines().filter((line) => line.msg === 'play allowed with a service token' && line.streamId === stream.streamId);
}

function denials(): Record<string, unknown>[] {
  return t.logs.lines().filter((line) => line.msg === 'on_play denied' && line.streamId === stream.streamId);
}

beforeAll(async () => {
  t = await startTestAdapter();
  const created = await call('POST', '/api/v1/streams', { name: 'signed-service', playback: 'signed', reconnectWindowSeconds: 0 });
  expect(created.status).toBe(201);
  stream = created.body;
  publisher = publishTestSource(stream.rtmpUrl);
  await waitFor(async () => (await call('GET', `/api/v1/streams/${stream.streamId}`)).body.state === 'live', {
    timeoutMs: 20000,
    what: 'signed stream live',
  });
});

afterAll(async () => {
  if (publisher && publisher.exitCode === null) publisher.kill('SIGKILL');
  await t.stop();
});

describe('signed playback with a service token', () => {
  it('plays over RTMP with a read token', async () => {
    const token = await testToken(['read']);
    const before = serviceTokenPlays().length;

    const seconds = await recordedSeconds(rtmpPlayUrl(token), 3);

    expect(seconds).toBeGreaterThanOrEqual(2.5);
    expect(serviceTokenPlays().length).toBeGreaterThan(before);
  });

  it('plays HLS segments with a read token', async () => {
    const token = await testToken(['read']);
    const playlistUrl = `${stream.hlsUrl}?token=${encodeURIComponent(token)}`;

    const segment = await waitFor(async () => {
      const res = await fetch(playlistUrl);
      if (!res.ok) return undefined;
      const uri = (await res.text()).split('\n').find((line) => line && !line.startsWith('#'));
      return uri ? new URL(uri, playlistUrl).toString() : undefined;
    }, { timeoutMs: 30000, what: 'HLS playlist with a segment' });
    const withToken = await fetch(segment);
    const withoutToken = await fetch(segment.replace(/\?.*$/, ''));

    expect(withToken.status).toBe(200);
    expect(withToken.headers.get('content-type')).toBe('video/MP2T');
    expect(withoutToken.status).toBe(403);
  });

  it('plays over HTTP-FLV with a read token', async () => {
    const token = await testToken(['read']);

    const probe = await ffprobe(flvPlayUrl(token));

    expect(hasVideo(probe)).toBe(true);
  });

  it('logs the token subject of an allowed play', async () => {
    const token = await testToken(['read']);
    await ffprobe(flvPlayUrl(token));

    const allowed = serviceTokenPlays();

    expect(allowed.length).toBeGreaterThan(0);
    expect(allowed[0].subject).toBe('test-suite');
    expect(t.logs.output).not.toContain(token);
  });

  it.each([
    ['a token signed with another secret', () => testToken(['read'], { secret: randomBytes(32).toString('hex') }), 'invalid_service_token_signature'],
    ['an expired token', () => testToken(['read'], { ttlSeconds: -120 }), 'expired_service_token'],
    ['a token without a scope', () => testToken([]), 'insufficient_service_token_scope'],
    ['a token of another issuer', () => signServiceToken({ sub: 'other', scope: ['read'] }, { secret: TEST_JWT_SECRET, issuer: 'another-issuer', ttlSeconds: 600 }), 'invalid_service_token_claims'],
    ['three parts that are not a JWT', async () => 'not.a.jwt', 'malformed_service_token'],
  ])('denies HTTP-FLV with %s', async (_case, sign, reason) => {
    const token = await sign();

    const response = await fetch(flvPlayUrl(token));

    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ code: 'permission_denied' });
    expect(denials().some((line) => line.reason === reason)).toBe(true);
    expect(t.logs.output).not.toContain(token);
  });

  it.each([
    ['a token signed with another secret', () => testToken(['read'], { secret: randomBytes(32).toString('hex') }), 'invalid_service_token_signature'],
    ['an expired token', () => testToken(['read'], { ttlSeconds: -120 }), 'expired_service_token'],
  ])('denies RTMP with %s', async (_case, sign, reason) => {
    const token = await sign();
    const before = denials().filter((line) => line.reason === reason).length;

    const seconds = await recordedSeconds(rtmpPlayUrl(token), 3);
    const count = () => denials().filter((line) => line.reason === reason).length;
    await waitFor(() => count() > before, { timeoutMs: 10000, what: `on_play denied with ${reason}` });

    expect(seconds).toBe(0);
    expect(count()).toBe(before + 1);
    expect(t.logs.output).not.toContain(token);
  });

  it('still plays over RTMP with a playback token', async () => {
    const issued = await call('POST', `/api/v1/streams/${stream.streamId}/playback-tokens`, {});
    expect(issued.status).toBe(201);

    const seconds = await recordedSeconds(rtmpPlayUrl(issued.body.token), 3);

    expect(seconds).toBeGreaterThanOrEqual(2.5);
  });
});
