import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { EgressClient, EgressStatus, RoomServiceClient, WebhookReceiver } from 'livekit-server-sdk';

import { TEST_ISSUER, TEST_JWT_SECRET, canConnect, ffprobe, freePort, publishTestSource, stopProcess, tempDir, testToken, waitFor } from '@castplane/testing';

import { adminFetch, socketsClosed, startTestServer, startWebhookReceiver } from './helpers';

const ROOT = join(__dirname, '..', '..', '..');

// An RTMP server for the live stream (node-media-server in its own process, loopback only), so
// the encoder can probe and then play the stream like it plays one from the media server.
function startRtmpServer(port: number, storeDir: string): ChildProcess {
  const script = `
    const NodeMediaServer = require('node-media-server');
    const server = new NodeMediaServer({ bind: '127.0.0.1', rtmp: { port: ${port}, chunk_size: 60000, gop_cache: true, ping: 30, ping_timeout: 60 }, store: { path: ${JSON.stringify(storeDir)} } });
    server.run();`;
  return spawn('node', ['-e', script], { cwd: ROOT, stdio: 'ignore' });
}

describe('room recording through the encoder', () => {
  let lk: Awaited<ReturnType<typeof startTestServer>>;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let encoder: ChildProcess;
  let source: ChildProcess;
  let rtmp: ChildProcess;
  const media = tempDir('livekit-recording');

  beforeAll(async () => {
    execFileSync('node', ['scripts/build.mjs', 'encoder'], { cwd: ROOT, stdio: 'ignore' });
    receiver = await startWebhookReceiver();
    lk = await startTestServer({ LIVEKIT_WEBHOOK_URLS: receiver.url, LIVEKIT_ENCODER_TIMEOUT_MS: '20000' });
    const rtmpPort = await freePort();
    rtmp = startRtmpServer(rtmpPort, join(media.path, 'nms'));
    await waitFor(() => canConnect(rtmpPort), { timeoutMs: 10000, what: 'rtmp server' });
    source = publishTestSource(`rtmp://127.0.0.1:${rtmpPort}/live/show`, { width: 320, height: 240 });
    const apiPort = await freePort();
    encoder = spawn('node', [join(ROOT, 'dist/apps/encoder/main.js')], {
      env: {
        ...process.env,
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        REDIS_KEY_PREFIX: lk.prefix,
        AUTH_JWT_SECRET: TEST_JWT_SECRET,
        AUTH_JWT_ISSUER: TEST_ISSUER,
        ENCODER_API_PORT: String(apiPort),
        ENCODER_MONITORING_PORT: String(await freePort()),
        MEDIA_ROOT: media.path,
        MEDIA_RTMP_URL: `rtmp://127.0.0.1:${rtmpPort}`,
      },
      stdio: 'ignore',
    });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${apiPort}/health`)).ok, { timeoutMs: 20000, what: 'encoder health' });
  });

  afterAll(async () => {
    if (encoder) await stopProcess(encoder);
    if (source) await stopProcess(source);
    if (rtmp) await stopProcess(rtmp);
    await lk?.stop();
    await receiver?.close();
    await socketsClosed();
    media.cleanup();
  });

  it('records the linked live stream through Egress and reports both webhooks', async () => {
    const rooms = new RoomServiceClient(lk.clientUrl, lk.apiKey, lk.apiSecret);
    const egress = new EgressClient(lk.clientUrl, lk.apiKey, lk.apiSecret);
    await rooms.createRoom({ name: 'recorded' });
    await adminFetch(lk.adminUrl, '/api/rooms/recorded/linked-stream', await testToken(['write']), {
      method: 'PUT',
      body: { linkedStream: { app: 'live', name: 'show' } },
    });

    const started = await egress.startRoomCompositeEgress('recorded', { file: { filepath: 'recorded.mp4' } } as never);
    expect(started.egressId).toMatch(/^EG_/);
    expect(started.status).toBe(EgressStatus.EGRESS_ACTIVE);
    expect(started.roomName).toBe('recorded');
    const active = await egress.listEgress({ roomName: 'recorded', active: true });
    expect(active.map((item) => item.egressId)).toEqual([started.egressId]);
    await expect(egress.startRoomCompositeEgress('recorded', { file: { filepath: 'again.mp4' } } as never)).rejects.toMatchObject({
      code: 'failed_precondition',
    });

    const { body: status } = await adminFetch(lk.adminUrl, '/api/recording/status/recorded', await testToken(['read']));
    const output = join(media.path, status.recordings[0].outputPath);
    await waitFor(() => existsSync(output) && statSync(output).size > 50_000, { timeoutMs: 30000, what: 'recording output' });

    const stopped = await egress.stopEgress(started.egressId);
    expect(stopped.status).toBe(EgressStatus.EGRESS_COMPLETE);
    await expect(egress.stopEgress(started.egressId)).rejects.toMatchObject({ code: 'failed_precondition', status: 412 });

    const probe = await waitFor(() => ffprobe(output).catch(() => undefined), { timeoutMs: 20000, what: 'playable recording' });
    expect(probe.streams.map((stream) => stream.codec_type)).toContain('video');

    await waitFor(() => receiver.received.length >= 3, { timeoutMs: 20000, what: 'egress webhooks' });
    const verifier = new WebhookReceiver(lk.apiKey, lk.apiSecret);
    const events = await Promise.all(receiver.received.map((hook) => verifier.receive(hook.body, hook.authorization)));
    const egressEvents = events.filter((event) => event.event.startsWith('egress_'));
    expect(egressEvents.map((event) => event.event)).toEqual(['egress_started', 'egress_ended']);
    expect(egressEvents[1].egressInfo?.egressId).toBe(started.egressId);
    expect(egressEvents[1].egressInfo?.status).toBe(EgressStatus.EGRESS_COMPLETE);
  });
});
