import type { Server } from 'node:http';

import express from 'express';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';

import { tempDir, testToken, waitFor } from '@castplane/testing';

import { adminFetch, joinToken, startTestServer, socketsClosed } from './helpers';
import type { TestServer } from './helpers';

// The peer logic the page runs: join through /signal, then offer/answer/ICE through the relay,
// keeping only 127.0.0.1 candidates, and exchange a message over a data channel.
const PAGE = `<!doctype html><html><body><script>
window.received = [];
window.state = 'idle';
window.runPeer = async ({ signalUrl, token, identity, initiator }) => {
  await navigator.mediaDevices.getUserMedia({ audio: true });
  const ws = new WebSocket(signalUrl + '?access_token=' + encodeURIComponent(token));
  const pc = new RTCPeerConnection({ iceServers: [] });
  let remote = null;
  let remoteSet = false;
  const queued = [];
  const send = (message) => ws.send(JSON.stringify(message));
  const useChannel = (channel) => {
    channel.onopen = () => { window.state = 'open'; channel.send('hello from ' + identity); };
    channel.onmessage = (event) => window.received.push(event.data);
  };
  pc.onicecandidate = (event) => {
    if (event.candidate && remote && event.candidate.candidate.includes(' 127.0.0.1 ')) {
      send({ type: 'ice-candidate', to: remote, candidate: event.candidate.toJSON() });
    }
  };
  pc.ondatachannel = (event) => useChannel(event.channel);
  const call = async (peer) => {
    if (remote) return;
    remote = peer;
    useChannel(pc.createDataChannel('chat'));
    await pc.setLocalDescription(await pc.createOffer());
    send({ type: 'offer', to: peer, sdp: pc.localDescription.sdp });
  };
  const addCandidate = async (candidate) => {
    if (remoteSet) await pc.addIceCandidate(candidate); else queued.push(candidate);
  };
  const remoteDescription = async (description) => {
    await pc.setRemoteDescription(description);
    remoteSet = true;
    for (const candidate of queued.splice(0)) await pc.addIceCandidate(candidate);
  };
  ws.onmessage = async (event) => {
    const message = JSON.parse(event.data);
    if (message.type === 'joined') {
      window.state = 'joined';
      if (initiator && message.participants.length > 0) await call(message.participants[0].identity);
    } else if (message.type === 'participant-joined' && initiator) {
      await call(message.participant.identity);
    } else if (message.type === 'offer') {
      remote = message.from;
      await remoteDescription({ type: 'offer', sdp: message.sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      send({ type: 'answer', to: remote, sdp: pc.localDescription.sdp });
    } else if (message.type === 'answer') {
      await remoteDescription({ type: 'answer', sdp: message.sdp });
    } else if (message.type === 'ice-candidate') {
      await addCandidate(message.candidate);
    } else if (message.type === 'error') {
      window.lastError = message;
    }
  };
};
</script></body></html>`;

const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--allow-loopback-in-peer-connection',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

describe('WebRTC peers in Chromium through /signal', () => {
  let replicaA: TestServer & { prefix: string };
  let replicaB: TestServer;
  let pageServer: Server;
  let pageUrl: string;
  let context: BrowserContext;
  const profile = tempDir('livekit-chromium');

  beforeAll(async () => {
    replicaA = await startTestServer();
    replicaB = await startTestServer({}, { prefix: replicaA.prefix, apiKey: replicaA.apiKey, apiSecret: replicaA.apiSecret });
    const app = express();
    app.get('/peer.html', (_req, res) => {
      res.type('html').send(PAGE);
    });
    pageServer = await new Promise((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    const address = pageServer.address();
    pageUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/peer.html`;
    context = await chromium.launchPersistentContext(profile.path, { executablePath: '/usr/bin/chromium', headless: true, args: FLAGS });
  });

  afterAll(async () => {
    await context?.close();
    await new Promise((resolve) => pageServer?.close(resolve));
    await replicaB?.stop();
    await replicaA?.stop();
    profile.cleanup();
    await socketsClosed();
  });

  async function openPeer(server: TestServer, room: string, identity: string, initiator: boolean): Promise<Page> {
    const page = await context.newPage();
    await page.goto(pageUrl);
    const token = await joinToken(server, identity, room);
    await page.evaluate((args) => (globalThis as any).runPeer(args), { signalUrl: `${server.wsUrl}/signal/${room}`, token, identity, initiator });
    return page;
  }

  async function receivedBy(page: Page): Promise<string[]> {
    return page.evaluate(() => (globalThis as any).received as string[]);
  }

  async function exchange(first: TestServer, second: TestServer, room: string, whileConnected?: () => Promise<void>): Promise<void> {
    const alice = await openPeer(first, room, 'alice', true);
    await waitFor(() => alice.evaluate(() => (globalThis as any).state === 'joined'), { what: 'alice joined' });
    const bob = await openPeer(second, room, 'bob', false);
    try {
      await waitFor(async () => (await receivedBy(alice)).includes('hello from bob'), { timeoutMs: 30000, what: 'message at alice' });
      await waitFor(async () => (await receivedBy(bob)).includes('hello from alice'), { timeoutMs: 30000, what: 'message at bob' });
      expect(await receivedBy(alice)).toEqual(['hello from bob']);
      expect(await receivedBy(bob)).toEqual(['hello from alice']);
      expect(await alice.evaluate(() => (globalThis as any).lastError ?? null)).toBeNull();
      await whileConnected?.();
    } finally {
      await alice.close();
      await bob.close();
    }
  }

  it('connects two peers on one replica and exchanges data channel messages', async () => {
    await exchange(replicaA, replicaA, 'webrtc-one');
  });

  it('connects two peers on two replicas sharing one Redis', async () => {
    await exchange(replicaA, replicaB, 'webrtc-two', async () => {
      const { body } = await adminFetch(replicaA.adminUrl, '/api/stats/participants', await testToken(['read']));
      const nodes = Object.fromEntries(
        body.participants.filter((p: { room: string }) => p.room === 'webrtc-two').map((p: { identity: string; nodeId: string }) => [p.identity, p.nodeId]),
      );
      expect(nodes).toEqual({ alice: replicaA.server.nodeId, bob: replicaB.server.nodeId });
    });
  });
});
