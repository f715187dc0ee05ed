import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { EgressClient, EgressStatus, RoomServiceClient, WebhookReceiver } from 'livekit-server-sdk';
import type { EgressInfo, WebhookEvent } from 'livekit-server-sdk';

import { eventQueueName } from '@castplane/contracts';
import { createLogger } from '@castplane/logging';
import { EventPublisher, createQueue } from '@castplane/redis';
import { TEST_ISSUER, TEST_JWT_SECRET, canConnect, ffprobe, freePort, publishTestSource, stopProcess, tempDir, testToken, waitFor } from '@castplane/testing';

import type { CapturedWebhook } from './helpers';
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
  // A second replica on the same Redis with short encoder and ending timeouts.
  let replica: Awaited<ReturnType<typeof startTestServer>>;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let encoder: ChildProcess;
  let source: ChildProcess;
  let rtmp: ChildProcess;
  let egress: EgressClient;
  let rooms: RoomServiceClient;
  const media = tempDir('livekit-recording');
  const snapshots = join(media.path, 'at-egress-ended');
  const snapshotErrors: string[] = [];

  // Copies the MP4 the moment egress_ended arrives, so the test probes the file as it was then.
  function snapshotOnEnded(hook: CapturedWebhook): void {
    const event = JSON.parse(hook.body) as { event: string; egressInfo?: { egressId: string; status?: string; fileResults?: { filename: string }[] } };
    const file = event.egressInfo?.fileResults?.[0]?.filename;
    if (event.event !== 'egress_ended' || event.egressInfo?.status !== 'EGRESS_COMPLETE' || !file) return;
    try {
      copyFileSync(join(media.path, file), join(snapshots, `${event.egressInfo.egressId}.mp4`));
    } catch (error) {
      snapshotErrors.push(error instanceof Error ? error.message : String(error));
    }
  }

  async function egressWebhooks(egressId: string): Promise<WebhookEvent[]> {
    const verifier = new WebhookReceiver(lk.apiKey, lk.apiSecret);
    const events = await Promise.all(receiver.received.map((hook) => verifier.receive(hook.body, hook.authorization)));
    return events.filter((event) => event.egressInfo?.egressId === egressId);
  }

  async function listOne(egressId: string): Promise<EgressInfo | undefined> {
    return (await egress.listEgress({ egressId }))[0];
  }

  async function linkedRoom(name: string): Promise<void> {
    await rooms.createRoom({ name });
    await adminFetch(lk.adminUrl, `/api/rooms/${name}/linked-stream`, await testToken(['write']), {
      method: 'PUT',
      body: { linkedStream: { app: 'live', name: 'show' } },
    });
  }

  beforeAll(async () => {
    mkdirSync(snapshots, { recursive: true });
    execFileSync('node', ['scripts/build.mjs', 'encoder'], { cwd: ROOT, stdio: 'ignore' });
    receiver = await startWebhookReceiver({ onWebhook: snapshotOnEnded });
    lk = await startTestServer({
      LIVEKIT_WEBHOOK_URLS: receiver.url,
      LIVEKIT_ENCODER_TIMEOUT_MS: '20000',
      LIVEKIT_EGRESS_ENDING_TIMEOUT_MS: '90000',
      LIVEKIT_ROOM_SWEEP_INTERVAL_MS: '250',
    });
    replica = await startTestServer(
      {
        LIVEKIT_WEBHOOK_URLS: receiver.url,
        LIVEKIT_ENCODER_TIMEOUT_MS: '1000',
        LIVEKIT_EGRESS_ENDING_TIMEOUT_MS: '2000',
        LIVEKIT_ROOM_SWEEP_INTERVAL_MS: '250',
      },
      lk,
    );
    egress = new EgressClient(lk.clientUrl, lk.apiKey, lk.apiSecret);
    rooms = new RoomServiceClient(lk.clientUrl, lk.apiKey, lk.apiSecret);
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
        // One job at a time, so a second recording waits in the queue.
        ENCODER_WORKER_CONCURRENCY: '1',
      },
      stdio: 'ignore',
    });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${apiPort}/health`)).ok, { timeoutMs: 20000, what: 'encoder health' });
  }, 120000);

  afterAll(async () => {
    // A graceful stop lets the encoder stop its ffmpeg children.
    if (encoder) await stopProcess(encoder, 20000);
    if (source) await stopProcess(source);
    if (rtmp) await stopProcess(rtmp);
    await replica?.stop();
    await lk?.stop();
    await receiver?.close();
    await socketsClosed();
    media.cleanup();
  }, 60000);

  describe('egress lifecycle', () => {
    let egressId = '';
    let outputPath = '';

    it('follows the recording to EGRESS_COMPLETE', async () => {
      await linkedRoom('recorded');

      const started = await egress.startRoomCompositeEgress('recorded', { file: { filepath: 'recorded.mp4' } } as never);
      egressId = started.egressId;
      expect(started.egressId).toMatch(/^EG_/);
      expect(started.status).toBe(EgressStatus.EGRESS_STARTING);
      expect(started.startedAt).toBe(0n);
      expect(started.updatedAt).toBeGreaterThan(0n);
      expect(started.roomName).toBe('recorded');
      await expect(egress.startRoomCompositeEgress('recorded', { file: { filepath: 'again.mp4' } } as never)).rejects.toMatchObject({
        code: 'failed_precondition',
      });

      const active = await waitFor(async () => ((await listOne(egressId))?.status === EgressStatus.EGRESS_ACTIVE ? listOne(egressId) : undefined), {
        timeoutMs: 40000,
        what: 'EGRESS_ACTIVE',
      });
      expect(active!.startedAt).toBeGreaterThan(0n);
      expect((await egress.listEgress({ roomName: 'recorded', active: true })).map((item) => item.egressId)).toEqual([egressId]);
      const updated = await waitFor(async () => (await egressWebhooks(egressId)).find((event) => event.event === 'egress_updated'), {
        timeoutMs: 20000,
        what: 'egress_updated webhook',
      });
      expect(updated.egressInfo?.status).toBe(EgressStatus.EGRESS_ACTIVE);

      const { body: status } = await adminFetch(lk.adminUrl, '/api/recording/status/recorded', await testToken(['read']));
      expect(status.recordings[0].status).toBe('active');
      outputPath = status.recordings[0].outputPath;
      const output = join(media.path, outputPath);
      await waitFor(() => existsSync(output) && statSync(output).size > 50_000, { timeoutMs: 30000, what: 'recording output' });

      const stopped = await egress.stopEgress(egressId);
      expect(stopped.status).toBe(EgressStatus.EGRESS_ENDING);
      expect(stopped.endedAt).toBe(0n);
      expect(stopped.fileResults).toEqual([]);

      const ended = await waitFor(async () => (await egressWebhooks(egressId)).find((event) => event.event === 'egress_ended'), {
        timeoutMs: 40000,
        what: 'egress_ended webhook',
      });
      expect(ended.egressInfo?.status).toBe(EgressStatus.EGRESS_COMPLETE);
      expect(ended.egressInfo?.endedAt).toBeGreaterThan(active!.startedAt);
      expect(ended.egressInfo?.fileResults[0]?.filename).toBe(outputPath);
      expect(ended.egressInfo?.fileResults[0]?.duration).toBeGreaterThan(0n);
    }, 150000);

    it('leaves a complete MP4 at the time of egress_ended', async () => {
      expect(snapshotErrors).toEqual([]);
      const probe = await ffprobe(join(snapshots, `${egressId}.mp4`));
      expect(Number(probe.format.duration)).toBeGreaterThan(0);
      expect(probe.streams.map((stream) => stream.codec_type)).toContain('video');
    });

    it('sends the egress webhooks in lifecycle order', async () => {
      const events = await egressWebhooks(egressId);
      expect(events.map((event) => event.event)).toEqual(['egress_started', 'egress_updated', 'egress_updated', 'egress_ended']);
      expect(events.map((event) => event.egressInfo?.status)).toEqual([
        EgressStatus.EGRESS_STARTING,
        EgressStatus.EGRESS_ACTIVE,
        EgressStatus.EGRESS_ENDING,
        EgressStatus.EGRESS_COMPLETE,
      ]);
    });

    it('rejects a second stop with 412 failed_precondition', async () => {
      await expect(egress.stopEgress(egressId)).rejects.toMatchObject({
        code: 'failed_precondition',
        status: 412,
        message: 'egress with status EGRESS_COMPLETE cannot be stopped',
      });
    });

    it('releases the room recording slot after the end', async () => {
      const { body: status } = await adminFetch(lk.adminUrl, '/api/recording/status/recorded', await testToken(['read']));
      expect(status.recording).toBe(false);
      expect(status.recordings[0]).toMatchObject({ egressId, status: 'complete', error: null });
      expect(await egress.listEgress({ roomName: 'recorded', active: true })).toEqual([]);
    });

    it('ignores repeated and late encoder events', async () => {
      const before = await listOne(egressId);
      const { body: listed } = await adminFetch(lk.adminUrl, '/api/recording/list?roomId=recorded', await testToken(['read']));
      const jobId: string = listed.recordings[0].encoderJobId;
      const queues = { redisUrl: process.env.REDIS_URL!, prefix: lk.prefix, logger: createLogger({ service: 'test', level: 'error' }) };
      const publisher = new EventPublisher(queues, 'encoder');
      const events = createQueue(queues, eventQueueName('livekit-server'));
      try {
        const ids = [`${jobId}-completed`, `${jobId}-late-started`, `${jobId}-late-failed`];
        await publisher.publish('transcode.completed', { jobId, app: 'live', name: 'show', outputs: [outputPath] }, ids[0]);
        await publisher.publish('transcode.started', { jobId, app: 'live', name: 'show', masterPlaylistPath: outputPath }, ids[1]);
        await publisher.publish('transcode.failed', { jobId, app: 'live', name: 'show', error: 'late failure' }, ids[2]);
        await waitFor(async () => (await Promise.all(ids.map((id) => events.getJobState(id)))).every((state) => state === 'completed'), {
          timeoutMs: 20000,
          what: 'repeated events processed',
        });
      } finally {
        await publisher.close();
        await events.close();
      }

      const after = await listOne(egressId);
      expect(after?.status).toBe(EgressStatus.EGRESS_COMPLETE);
      expect(after?.endedAt).toBe(before?.endedAt);
      expect(after?.error).toBe('');
      // The room's webhooks keep their order, so room_finished arrives after any egress webhook the events queued.
      await rooms.deleteRoom('recorded');
      await waitFor(() => receiver.received.some((hook) => hook.body.includes('"room_finished"') && hook.body.includes('"recorded"')), {
        timeoutMs: 20000,
        what: 'room_finished webhook',
      });
      expect((await egressWebhooks(egressId)).map((event) => event.event)).toEqual(['egress_started', 'egress_updated', 'egress_updated', 'egress_ended']);
    });
  });

  describe('stop of a queued recording', () => {
    it('fails an egress whose job never ran', async () => {
      await linkedRoom('busy');
      await linkedRoom('queued');
      const busy = await egress.startRoomCompositeEgress('busy', { file: { filepath: 'busy.mp4' } } as never);
      await waitFor(async () => (await listOne(busy.egressId))?.status === EgressStatus.EGRESS_ACTIVE, { timeoutMs: 40000, what: 'EGRESS_ACTIVE' });

      const queued = await egress.startRoomCompositeEgress('queued', { file: { filepath: 'queued.mp4' } } as never);
      expect(queued.status).toBe(EgressStatus.EGRESS_STARTING);
      const stopped = await egress.stopEgress(queued.egressId);
      expect(stopped.status).toBe(EgressStatus.EGRESS_ENDING);

      const failed = await listOne(queued.egressId);
      expect(failed?.status).toBe(EgressStatus.EGRESS_FAILED);
      expect(failed?.error).toBe('the recording was stopped before the encoder started it, so no file was written');
      expect(failed?.startedAt).toBe(0n);
      expect(failed?.fileResults).toEqual([]);
      const events = await waitFor(
        async () => {
          const found = await egressWebhooks(queued.egressId);
          return found.some((event) => event.event === 'egress_ended') ? found : undefined;
        },
        { timeoutMs: 20000, what: 'egress_ended webhook' },
      );
      expect(events.map((event) => event.egressInfo?.status)).toEqual([
        EgressStatus.EGRESS_STARTING,
        EgressStatus.EGRESS_ENDING,
        EgressStatus.EGRESS_FAILED,
      ]);

      await egress.stopEgress(busy.egressId);
      await waitFor(async () => (await listOne(busy.egressId))?.status === EgressStatus.EGRESS_COMPLETE, {
        timeoutMs: 40000,
        what: 'EGRESS_COMPLETE',
      });
    }, 150000);
  });

  // Runs last: it stops the encoder.
  describe('ending timeout', () => {
    it('fails an egress whose end never arrives', async () => {
      await linkedRoom('unfinished');
      const started = await egress.startRoomCompositeEgress('unfinished', { file: { filepath: 'unfinished.mp4' } } as never);
      await waitFor(async () => (await listOne(started.egressId))?.status === EgressStatus.EGRESS_ACTIVE, { timeoutMs: 40000, what: 'EGRESS_ACTIVE' });

      // A graceful stop hands the job back to the queue, so no end event is published.
      await stopProcess(encoder, 20000);
      const replicaEgress = new EgressClient(replica.clientUrl, replica.apiKey, replica.apiSecret);
      const stopped = await replicaEgress.stopEgress(started.egressId);
      expect(stopped.status).toBe(EgressStatus.EGRESS_ENDING);

      const failed = await waitFor(async () => ((await listOne(started.egressId))?.status === EgressStatus.EGRESS_FAILED ? listOne(started.egressId) : undefined), {
        timeoutMs: 30000,
        what: 'EGRESS_FAILED',
      });
      expect(failed!.error).toMatch(/^the encoder did not report the end of the recording within \d+ s of the stop request/);
      expect(failed!.endedAt).toBeGreaterThan(0n);
      const ended = await waitFor(async () => (await egressWebhooks(started.egressId)).find((event) => event.event === 'egress_ended'), {
        timeoutMs: 20000,
        what: 'egress_ended webhook',
      });
      expect(ended.egressInfo?.status).toBe(EgressStatus.EGRESS_FAILED);
      expect(ended.egressInfo?.error).toBe(failed!.error);
      const { body: status } = await adminFetch(lk.adminUrl, '/api/recording/status/unfinished', await testToken(['read']));
      expect(status.recording).toBe(false);
    }, 150000);
  });
});
