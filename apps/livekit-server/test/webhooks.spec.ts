import { RoomServiceClient, WebhookReceiver } from 'livekit-server-sdk';

import { waitFor } from '@castplane/testing';

import { SignalClient, joinToken, socketsClosed, startTestServer, startWebhookReceiver } from './helpers';
import type { TestServer } from './helpers';

describe('LiveKit webhooks', () => {
  let lk: TestServer;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;

  beforeAll(async () => {
    // The receiver returns 503 twice first, so delivery has to retry and still keep the order.
    receiver = await startWebhookReceiver({ failFirst: 2 });
    lk = await startTestServer({ LIVEKIT_WEBHOOK_URLS: receiver.url, LIVEKIT_WEBHOOK_BACKOFF_MS: '50' });
  });

  afterAll(async () => {
    await lk.stop();
    await receiver.close();
    await socketsClosed();
  });

  it('sends every room event, signed and in order, and WebhookReceiver accepts each', async () => {
    const rooms = new RoomServiceClient(lk.clientUrl, lk.apiKey, lk.apiSecret);
    await rooms.createRoom({ name: 'hooks' });
    const alice = await SignalClient.connect(lk.wsUrl, 'hooks', await joinToken(lk, 'alice', 'hooks'));
    const bob = await SignalClient.connect(lk.wsUrl, 'hooks', await joinToken(lk, 'bob', 'hooks'));
    alice.send({ type: 'track-publish', kind: 'video', name: 'camera', source: 'camera', width: 640, height: 360 });
    const { track } = await alice.next('track-published');
    alice.send({ type: 'track-unpublish', trackSid: track.sid });
    await alice.next('track-unpublished');
    bob.close();
    await alice.next('participant-left');
    await rooms.deleteRoom('hooks');

    const expected = [
      'room_started',
      'participant_joined',
      'participant_joined',
      'track_published',
      'track_unpublished',
      'participant_left',
      'participant_left',
      'room_finished',
    ];
    await waitFor(() => receiver.received.length >= expected.length, { timeoutMs: 30000, what: 'all webhooks' });

    const verifier = new WebhookReceiver(lk.apiKey, lk.apiSecret);
    const events = [];
    for (const hook of receiver.received) {
      expect(hook.contentType).toBe('application/webhook+json');
      expect(hook.authorization).not.toMatch(/^Bearer /);
      events.push(await verifier.receive(hook.body, hook.authorization));
    }
    expect(events.map((event) => event.event)).toEqual(expected);
    for (const event of events) {
      expect(event.id).toMatch(/^EV_[A-Za-z0-9]{12}$/);
      expect(typeof event.createdAt).toBe('bigint');
      expect(event.room?.name).toBe('hooks');
    }
    expect(events[1].participant?.identity).toBe('alice');
    expect(events[3].track?.sid).toBe(track.sid);
    expect(events[3].participant?.identity).toBe('alice');
    expect(events[5].participant?.identity).toBe('bob');

    const raw = JSON.parse(receiver.received[0].body);
    expect(typeof raw.createdAt).toBe('string');
    expect(raw.room.numParticipants).toBeUndefined();
  });

  it('rejects a tampered body and a wrong secret', async () => {
    const hook = await waitFor(() => receiver.received[0]);
    const verifier = new WebhookReceiver(lk.apiKey, lk.apiSecret);
    const tampered = hook.body.replace('"hooks"', '"other"');
    await expect(verifier.receive(tampered, hook.authorization)).rejects.toThrow(/sha256/);
    const wrongSecret = new WebhookReceiver(lk.apiKey, 'y'.repeat(48));
    await expect(wrongSecret.receive(hook.body, hook.authorization)).rejects.toThrow();
    await expect(verifier.receive(hook.body, `Bearer ${hook.authorization}`)).rejects.toThrow();
  });
});
