import { spawn } from 'node:child_process';

import { RoomServiceClient } from 'livekit-server-sdk';

import { LogCapture, baseTestEnv, bundlePath, ensureBundles, freePort, stopProcess, waitFor } from '@castplane/testing';

import { RoomService } from '../src/services/room.service';
import { SignalClient, joinToken, socketsClosed, startTestServer, startWebhookReceiver } from './helpers';
import type { TestServer } from './helpers';

const ROOM = 'replicas';
const REMOVED_LOG = 'participant of a lost node removed';

// Short enough that a killed replica is noticed within seconds. Long enough that a live replica,
// refreshing every third of it, keeps its key on a busy test machine.
const LIVENESS_ENV = {
  LIVEKIT_ROOM_SWEEP_INTERVAL_MS: '300',
  LIVEKIT_NODE_TIMEOUT_MS: '3000',
  LIVEKIT_WEBHOOK_BACKOFF_MS: '50',
  LOG_LEVEL: 'info',
};

interface ReceivedEvent {
  event: string;
  participant?: { identity?: string };
  track?: { sid?: string };
}

/** Starts a replica from the built bundle on free ports and returns it with its node id. */
async function startBundledReplica(shared: TestServer & { prefix: string }, webhookUrl: string) {
  ensureBundles(['livekit-server']);
  const clientPort = await freePort();
  const env = baseTestEnv('livekit', {
    ...LIVENESS_ENV,
    PATH: process.env.PATH ?? '',
    LIVEKIT_CLIENT_PORT: String(clientPort),
    LIVEKIT_ADMIN_PORT: String(await freePort()),
    LIVEKIT_API_KEY: shared.apiKey,
    LIVEKIT_API_SECRET: shared.apiSecret,
    LIVEKIT_WEBHOOK_URLS: webhookUrl,
  });
  env.REDIS_KEY_PREFIX = shared.prefix;
  const child = spawn(process.execPath, [bundlePath('livekit-server')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const nodeId = await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`livekit-server exited: ${stderr.slice(0, 500)}`);
      const started = stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { msg?: string; nodeId?: string })
        .find((line) => line.msg === 'livekit-server started');
      return started?.nodeId;
    },
    { timeoutMs: 30000, what: 'bundled livekit-server started' },
  );
  return { child, nodeId, wsUrl: `ws://127.0.0.1:${clientPort}`, logs: () => stdout };
}

describe('replica loss', () => {
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let replicaA: TestServer & { prefix: string };
  let replicaC: TestServer & { prefix: string };
  let replicaB: Awaited<ReturnType<typeof startBundledReplica>>;
  let rooms: RoomServiceClient;
  let alice: SignalClient;
  let bob: SignalClient;
  let carol: SignalClient;
  let bobTrackSid: string;
  const tokens: string[] = [];
  const logsA = new LogCapture();
  const logsC = new LogCapture();
  const sweeps = jest.spyOn(RoomService.prototype, 'sweep');

  function events(): ReceivedEvent[] {
    return receiver.received.map((hook) => JSON.parse(hook.body) as ReceivedEvent);
  }

  function eventsFor(name: string, identity: string): ReceivedEvent[] {
    return events().filter((event) => event.event === name && event.participant?.identity === identity);
  }

  async function identities(): Promise<string[]> {
    const participants = await rooms.listParticipants(ROOM);
    return participants.map((participant) => participant.identity).sort();
  }

  async function join(wsUrl: string, identity: string): Promise<SignalClient> {
    const token = await joinToken(replicaA, identity, ROOM);
    tokens.push(token);
    return SignalClient.connect(wsUrl, ROOM, token);
  }

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    const env = { ...LIVENESS_ENV, LIVEKIT_WEBHOOK_URLS: receiver.url };
    replicaA = await startTestServer(env, undefined, logsA.stream);
    const shared = { prefix: replicaA.prefix, apiKey: replicaA.apiKey, apiSecret: replicaA.apiSecret };
    replicaC = await startTestServer(env, shared, logsC.stream);
    replicaB = await startBundledReplica(replicaA, receiver.url);
    rooms = new RoomServiceClient(replicaA.clientUrl, replicaA.apiKey, replicaA.apiSecret);

    alice = await join(replicaA.wsUrl, 'alice');
    carol = await join(replicaC.wsUrl, 'carol');
    bob = await join(replicaB.wsUrl, 'bob');
    bob.send({ type: 'track-publish', kind: 'audio', name: 'microphone', source: 'microphone' });
    bobTrackSid = (await bob.next('track-published')).track.sid as string;
  });

  afterAll(async () => {
    for (const client of [alice, bob, carol]) client?.close();
    if (replicaB) await stopProcess(replicaB.child);
    await replicaC?.stop();
    await replicaA?.stop();
    await receiver?.close();
    sweeps.mockRestore();
    await socketsClosed();
  });

  it('keeps the participants of live replicas while sweeps run', async () => {
    const before = sweeps.mock.calls.length;
    await waitFor(() => sweeps.mock.calls.length >= before + 10, { timeoutMs: 30000, what: 'ten sweep ticks' });

    expect(await identities()).toEqual(['alice', 'bob', 'carol']);
    expect(alice.messages.filter((message) => message.type === 'participant-left')).toEqual([]);
    expect(carol.messages.filter((message) => message.type === 'participant-left')).toEqual([]);
  });

  it('removes the participants of a killed replica once', async () => {
    // Let the bundled replica's webhook worker finish its jobs, so none stalls with it.
    await waitFor(() => eventsFor('participant_joined', 'bob').length === 1 && events().some((event) => event.event === 'track_published'), {
      timeoutMs: 30000,
      what: 'webhooks sent before the kill',
    });
    const exited = new Promise((resolve) => replicaB.child.once('exit', resolve));
    replicaB.child.kill('SIGKILL');
    await exited;

    await waitFor(async () => !(await identities()).includes('bob'), { timeoutMs: 30000, what: 'bob removed' });
    expect(await identities()).toEqual(['alice', 'carol']);
    const toAlice = await alice.next('participant-left', (message) => message.identity === 'bob', 30000);
    expect(toAlice.reason).toBe('node_lost');
    const toCarol = await carol.next('participant-left', (message) => message.identity === 'bob', 30000);
    expect(toCarol.reason).toBe('node_lost');

    // Webhooks keep their order per room, so alice's participant_left arrives after any copy of bob's.
    await waitFor(() => eventsFor('participant_left', 'bob').length > 0, { timeoutMs: 30000, what: "bob's participant_left" });
    alice.close();
    await carol.next('participant-left', (message) => message.identity === 'alice', 30000);
    await waitFor(() => eventsFor('participant_left', 'alice').length > 0, { timeoutMs: 30000, what: "alice's participant_left" });

    expect(eventsFor('participant_left', 'bob')).toHaveLength(1);
    const unpublished = events().filter((event) => event.event === 'track_unpublished' && event.track?.sid === bobTrackSid);
    expect(unpublished).toHaveLength(1);
    expect(alice.messages.filter((message) => message.type === 'participant-left' && message.identity === 'bob')).toEqual([]);
    expect(carol.messages.filter((message) => message.type === 'participant-left' && message.identity === 'bob')).toEqual([]);
  });

  it('logs each removal once with the room, identity and dead node id', () => {
    const removals = [...logsA.lines(), ...logsC.lines()].filter((line) => line.msg === REMOVED_LOG);
    expect(removals).toHaveLength(1);
    expect(removals[0]).toMatchObject({ roomName: ROOM, participantIdentity: 'bob', nodeId: replicaB.nodeId });

    const allLogs = logsA.output + logsC.output + replicaB.logs();
    for (const token of tokens) expect(allLogs).not.toContain(token);
  });
});
