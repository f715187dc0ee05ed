import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { ffprobe, freePort, isListening, stopProcess, waitFor } from '@castplane/testing';

import type { Harness } from './encoder-harness';
import { makeTestMedia, readText, startHarness, waitForJobState } from './encoder-harness';

/** Starts ffmpeg as an RTMP server that writes what it receives to `file`. */
function rtmpReceiver(port: number, file: string): ChildProcess {
  return spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-listen', '1', '-i', `rtmp://127.0.0.1:${port}/live/push`, '-c', 'copy', '-y', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

describe('RTMP push per rendition', () => {
  let harness: Harness;
  let receiver: ChildProcess | undefined;

  beforeAll(async () => {
    // The RTMP receiver listens on a random loopback port, which the default policy rejects.
    harness = await startHarness('push', { ENCODER_ALLOWED_HOSTS: '127.0.0.1' });
  });

  afterAll(async () => {
    if (receiver) await stopProcess(receiver);
    await harness.stop();
  });

  it('pushes one rendition and keeps HLS', async () => {
    const clip = await makeTestMedia(harness.mediaRoot, 'push.mp4', { seconds: 6, width: 854, height: 480 });
    const port = await freePort();
    const received = join(harness.mediaRoot, 'received.flv');
    receiver = rtmpReceiver(port, received);
    const receiverExit = new Promise<number | null>((resolve) => receiver!.once('exit', (code) => resolve(code)));
    await harness.api().post('/api/encoder/config').send({
      streamKey: 'push-key-1',
      name: 'push-cam',
      source: pathToFileURL(clip).href,
      profiles: ['360p', '240p'],
      outputs: { rtmpPush: [{ profileId: '240p', url: `rtmp://127.0.0.1:${port}/live/push` }] },
    }).expect(201);

    // A start before the receiver listens would fail the push.
    await waitFor(() => isListening(port), { timeoutMs: 15000, what: 'RTMP receiver listening' });
    const start = await harness.api().post('/api/encoder/start').send({ streamKey: 'push-key-1' }).expect(202);
    const job = await waitForJobState(harness, start.body.jobId, ['completed', 'failed'], 90000);
    const code = await receiverExit;
    receiver = undefined;

    expect(job.state).toBe('completed');
    expect(code).toBe(0);
    expect(existsSync(received)).toBe(true);
    const probe = await ffprobe(received);
    const video = probe.streams.find((stream) => stream.codec_type === 'video');
    expect(video?.codec_name).toBe('h264');
    expect([video?.width, video?.height]).toEqual([426, 240]);
    expect(probe.streams.find((stream) => stream.codec_type === 'audio')?.codec_name).toBe('aac');
    expect(Number(probe.format.duration)).toBeGreaterThan(4);
    const pushed = job.outputs.find((output: string) => output.endsWith('240p/index.m3u8'));
    expect(readText(join(harness.mediaRoot, pushed))).toContain('#EXTINF');
  });
});
