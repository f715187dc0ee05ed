import { createHash, randomBytes } from 'node:crypto';

import { Queue } from 'bullmq';
import { AccessToken } from 'livekit-server-sdk';
import request from 'supertest';

import { eventQueueName } from '@castplane/contracts';
import { bullConnectionOptions } from '@castplane/redis';
import { testToken, waitFor } from '@castplane/testing';

import { LIVEKIT_KEY, LIVEKIT_SECRET, postWebhook, signedWebhook, startSdk, webhookEvent } from './helpers';
import type { StartedSdk } from './helpers';

function roomInfo(name: string) {
  return { sid: `RM_${name.slice(-12).padStart(12, 'x')}`, name, creationTime: String(Math.floor(Date.now() / 1000)) };
}

function participantInfo(identity: string, joinedAt = Math.floor(Date.now() / 1000)) {
  return { sid: `PA_${identity.slice(-12).padStart(12, 'p')}`, identity, joinedAt: String(joinedAt), state: 'ACTIVE' };
}

describe('webhook receiver', () => {
  let sdk: StartedSdk;
  let token: string;
  let orchestratorQueue: Queue;

  beforeAll(async () => {
    sdk = await startSdk('lksdkhooks');
    token = await testToken(['admin']);
    orchestratorQueue = new Queue(eventQueueName('orchestrator'), {
      connection: bullConnectionOptions(sdk.env.REDIS_URL!) as never,
      prefix: sdk.env.REDIS_KEY_PREFIX,
    });
  });

  afterAll(async () => {
    await orchestratorQueue.close();
    await sdk.stop();
  });

  const uniqueRoom = () => `room-${randomBytes(5).toString('hex')}`;

  async function analytics(kind: string, roomName: string) {
    const response = await request(sdk.api)
      .get(`/api/livekit/analytics/${kind}`)
      .query({ roomName })
      .set('Authorization', `Bearer ${token}`);
    expect(response.status).toBe(200);
    return response.body;
  }

  describe('POST /webhooks/livekit', () => {
    it('accepts a signed event and moves the room analytics', async () => {
      const name = uniqueRoom();
      const response = await postWebhook(sdk.webhooks, webhookEvent({ event: 'room_started', room: roomInfo(name) }));

      expect(response.status).toBe(202);
      expect(response.body.status).toBe('accepted');
      const rooms = await waitFor(async () => {
        const body = await analytics('rooms', name);
        return body.total === 1 ? body : undefined;
      }, { timeoutMs: 30000, what: 'room in analytics' });
      expect(rooms.active).toBe(1);
      expect(rooms.rooms[0].name).toBe(name);
    });

    it('accepts application/json as well as application/webhook+json', async () => {
      const signed = await signedWebhook(webhookEvent({ event: 'room_started', room: roomInfo(uniqueRoom()) }));
      const response = await request(sdk.webhooks)
        .post('/webhooks/livekit')
        .set({ ...signed.headers, 'Content-Type': 'application/json' })
        .send(signed.body);

      expect(response.status).toBe(202);
    });

    it('counts joins, leaves, peak and session length', async () => {
      const name = uniqueRoom();
      const room = roomInfo(name);
      const alice = participantInfo('alice', Math.floor(Date.now() / 1000) - 30);
      const bob = participantInfo('bob');
      await postWebhook(sdk.webhooks, webhookEvent({ event: 'room_started', room }));
      await postWebhook(sdk.webhooks, webhookEvent({ event: 'participant_joined', room, participant: alice }));
      await postWebhook(sdk.webhooks, webhookEvent({ event: 'participant_joined', room, participant: bob }));
      await postWebhook(sdk.webhooks, webhookEvent({ event: 'participant_left', room, participant: alice }));

      const participants = await waitFor(async () => {
        const body = await analytics('participants', name);
        return body.joins === 2 && body.leaves === 1 ? body : undefined;
      }, { timeoutMs: 30000, what: 'participant analytics' });
      const rooms = await analytics('rooms', name);

      expect(participants.sessionLengths.count).toBe(1);
      expect(participants.sessionLengths.maxSeconds).toBeGreaterThanOrEqual(29);
      expect(rooms.peakParticipants).toBe(2);
      expect(rooms.rooms[0].currentParticipants).toBe(1);
    });

    it('applies a replayed event id once', async () => {
      const name = uniqueRoom();
      const room = roomInfo(name);
      const event = webhookEvent({ event: 'participant_joined', room, participant: participantInfo('carol') });
      const first = await postWebhook(sdk.webhooks, event);
      const replay = await postWebhook(sdk.webhooks, event);

      expect(first.status).toBe(202);
      expect(replay.status).toBe(200);
      expect(replay.body.status).toBe('duplicate');
      await waitFor(async () => (await analytics('participants', name)).joins === 1, { timeoutMs: 30000, what: 'join counted' });
      const control = webhookEvent({ event: 'room_started', room });
      await postWebhook(sdk.webhooks, control);
      await waitFor(async () => (await analytics('rooms', name)).total === 1, { timeoutMs: 30000, what: 'control event applied' });
      expect((await analytics('participants', name)).joins).toBe(1);
    });

    it('keeps counts at zero for a participant never seen joining', async () => {
      const name = uniqueRoom();
      const room = roomInfo(name);
      await postWebhook(sdk.webhooks, webhookEvent({ event: 'participant_left', room, participant: participantInfo('ghost') }));

      const rooms = await waitFor(async () => {
        const body = await analytics('rooms', name);
        return body.total === 1 ? body : undefined;
      }, { timeoutMs: 30000, what: 'room from participant_left' });
      expect(rooms.rooms[0].currentParticipants).toBe(0);
      expect(rooms.peakParticipants).toBe(0);
    });

    it('tolerates a participant_left that arrives before its participant_joined', async () => {
      const name = uniqueRoom();
      const room = roomInfo(name);
      const dave = participantInfo('dave');
      await postWebhook(sdk.webhooks, webhookEvent({ event: 'participant_left', room, participant: dave }));
      await waitFor(async () => (await analytics('participants', name)).leaves === 1, { timeoutMs: 30000, what: 'leave applied' });
      await postWebhook(sdk.webhooks, webhookEvent({ event: 'participant_joined', room, participant: dave }));
      await waitFor(async () => (await analytics('participants', name)).joins === 1, { timeoutMs: 30000, what: 'late join applied' });

      const rooms = await analytics('rooms', name);
      expect(rooms.rooms[0].currentParticipants).toBe(0);
    });

    it('ends a room whose room_finished arrives before participant_left', async () => {
      const name = uniqueRoom();
      const room = roomInfo(name);
      const erin = participantInfo('erin');
      await postWebhook(sdk.webhooks, webhookEvent({ event: 'participant_joined', room, participant: erin }));
      await waitFor(async () => (await analytics('participants', name)).joins === 1, { timeoutMs: 30000, what: 'join applied' });
      await postWebhook(sdk.webhooks, webhookEvent({ event: 'room_finished', room }));
      await postWebhook(sdk.webhooks, webhookEvent({ event: 'participant_left', room, participant: erin }));

      const rooms = await waitFor(async () => {
        const body = await analytics('rooms', name);
        return body.active === 0 ? body : undefined;
      }, { timeoutMs: 30000, what: 'room finished' });
      await waitFor(async () => (await analytics('participants', name)).leaves === 1, { timeoutMs: 30000, what: 'leave applied' });
      expect(rooms.rooms[0].currentParticipants).toBe(0);
      expect(rooms.durations.count).toBe(1);
    });

    it('hands the event to the orchestrator queue', async () => {
      const name = uniqueRoom();
      const event = webhookEvent({ event: 'participant_joined', room: roomInfo(name), participant: participantInfo('frank') });
      await postWebhook(sdk.webhooks, event);

      const job = await waitFor(() => orchestratorQueue.getJob(`livekit-${event.id}`), { timeoutMs: 30000, what: 'orchestrator event' });
      expect(job.data.type).toBe('participant.joined');
      expect(job.data.source).toBe('livekit-sdk');
      expect(job.data.data).toEqual({ roomName: name, identity: 'frank', participantSid: expect.stringMatching(/^PA_/) });
    });

    it('maps track events with their kind', async () => {
      const event = webhookEvent({
        event: 'track_published',
        room: roomInfo(uniqueRoom()),
        participant: { sid: 'PA_trackowner01', identity: 'grace' },
        track: { sid: 'TR_abcdefghijkl', type: 'VIDEO' },
      });
      await postWebhook(sdk.webhooks, event, '/webhooks/livekit/track_published');

      const job = await waitFor(() => orchestratorQueue.getJob(`livekit-${event.id}`), { timeoutMs: 30000, what: 'track event' });
      expect(job.data.type).toBe('track.published');
      expect(job.data.data.kind).toBe('video');
    });
  });

  describe('other events', () => {
    it('counts participant_connection_aborted as aborted, not as a leave', async () => {
      const name = uniqueRoom();
      const room = roomInfo(name);
      await postWebhook(sdk.webhooks, webhookEvent({ event: 'participant_connection_aborted', room, participant: participantInfo('hank') }));

      const participants = await waitFor(async () => {
        const body = await analytics('participants', name);
        return body.aborted === 1 ? body : undefined;
      }, { timeoutMs: 30000, what: 'aborted connection' });
      expect(participants.leaves).toBe(0);
      expect(participants.joins).toBe(0);
    });

    it('hands egress_started to the orchestrator with the egress id', async () => {
      const event = webhookEvent({
        event: 'egress_started',
        room: { sid: 'RM_egressroom01', name: 'egress-room' },
        egressInfo: { egressId: 'EG_abcdefghijkl', roomName: 'egress-room' },
      });
      await postWebhook(sdk.webhooks, event);

      const job = await waitFor(() => orchestratorQueue.getJob(`livekit-${event.id}`), { timeoutMs: 30000, what: 'egress event' });
      expect(job.data.type).toBe('egress.started');
      expect(job.data.data).toEqual({ roomName: 'egress-room', egressId: 'EG_abcdefghijkl' });
    });

    it('accepts an event it does not map without publishing it', async () => {
      const event = webhookEvent({ event: 'ingress_started', room: { name: 'ingress-room' }, ingressInfo: { ingressId: 'IN_abcdefghijkl' } });
      const response = await postWebhook(sdk.webhooks, event);

      expect(response.status).toBe(202);
      await waitFor(async () => sdk.logs.lines().some((line) => line.eventId === event.id && line.msg === 'webhook applied'), {
        timeoutMs: 30000,
        what: 'ingress event applied',
      });
      expect(await orchestratorQueue.getJob(`livekit-${event.id}`)).toBeUndefined();
    });
  });

  describe('signature checks', () => {
    const event = () => webhookEvent({ event: 'room_started', room: roomInfo(uniqueRoom()) });

    it('rejects a tampered body with 401', async () => {
      const signed = await signedWebhook(event());
      const tampered = signed.body.replace('room_started', 'room_finished');
      const response = await request(sdk.webhooks).post('/webhooks/livekit').set(signed.headers).send(tampered);

      expect(response.status).toBe(401);
      expect(response.body.message).toMatch(/checksum/);
    });

    it('rejects a token issued by another API key with 401', async () => {
      const signed = await signedWebhook(event(), 'APIotherkey', 'another-secret-of-enough-length');
      const response = await request(sdk.webhooks).post('/webhooks/livekit').set(signed.headers).send(signed.body);

      expect(response.status).toBe(401);
    });

    it('rejects a token signed with the wrong secret with 401', async () => {
      const signed = await signedWebhook(event(), LIVEKIT_KEY, 'wrong-secret-wrong-secret-wrong');
      const response = await request(sdk.webhooks).post('/webhooks/livekit').set(signed.headers).send(signed.body);

      expect(response.status).toBe(401);
      expect(response.body.details[0].field).toBe('headers.authorization');
    });

    it('rejects a missing Authorization header with 401', async () => {
      const signed = await signedWebhook(event());
      const response = await request(sdk.webhooks)
        .post('/webhooks/livekit')
        .set('Content-Type', 'application/webhook+json')
        .send(signed.body);

      expect(response.status).toBe(401);
    });

    it('rejects a Bearer-prefixed token, which LiveKit never sends', async () => {
      const signed = await signedWebhook(event());
      const response = await request(sdk.webhooks)
        .post('/webhooks/livekit')
        .set({ ...signed.headers, Authorization: `Bearer ${signed.headers.Authorization}` })
        .send(signed.body);

      expect(response.status).toBe(401);
    });

    // Signs any body the way LiveKit signs an event, so the body alone is wrong.
    async function signedRaw(body: string) {
      const signer = new AccessToken(LIVEKIT_KEY, LIVEKIT_SECRET, { ttl: '5m' });
      signer.sha256 = createHash('sha256').update(body, 'utf8').digest('base64');
      return { 'Content-Type': 'application/webhook+json', Authorization: await signer.toJwt() };
    }

    it('rejects a signed body that is not JSON with 400', async () => {
      const body = 'not json {';
      const response = await request(sdk.webhooks).post('/webhooks/livekit').set(await signedRaw(body)).send(body);

      expect(response.status).toBe(400);
      expect(response.body.code).toBe('malformed');
      expect(response.body.details[0].field).toBe('body');
    });

    it('rejects a signed body of the wrong shape with 400', async () => {
      const bodies = ['[]', '"room_started"', 'null', '{"event":42}', '{"room":"not an object"}'];
      for (const body of bodies) {
        const response = await request(sdk.webhooks).post('/webhooks/livekit').set(await signedRaw(body)).send(body);

        expect({ body, status: response.status }).toEqual({ body, status: 400 });
        expect({ body, code: response.body.code }).toEqual({ body, code: 'invalid_argument' });
        expect({ body, field: response.body.details[0].field }).toEqual({ body, field: 'body' });
      }
    });

    it('rejects an unsigned body that is not JSON with 401', async () => {
      const body = 'not json {';
      const headers = { ...(await signedRaw('{}')), Authorization: 'not-a-token' };
      const response = await request(sdk.webhooks).post('/webhooks/livekit').set(headers).send(body);

      expect(response.status).toBe(401);
      expect(response.body.message).toMatch(/malformed/);
    });

    it('rejects an event posted to another event URL with 422', async () => {
      const response = await postWebhook(sdk.webhooks, event(), '/webhooks/livekit/participant_joined');

      expect(response.status).toBe(422);
      expect(response.body.details[0].field).toBe('body.event');
    });

    it('accepts room_started on the room_created URL', async () => {
      const response = await postWebhook(sdk.webhooks, event(), '/webhooks/livekit/room_created');

      expect(response.status).toBe(202);
    });

    it('rejects a body of another media type with 415', async () => {
      const signed = await signedWebhook(event());
      const response = await request(sdk.webhooks)
        .post('/webhooks/livekit')
        .set({ ...signed.headers, 'Content-Type': 'text/plain' })
        .send(signed.body);

      expect(response.status).toBe(415);
      expect(response.body.details[0].field).toBe('headers.content-type');
    });

    it('keeps webhook tokens out of the logs', async () => {
      const signed = await signedWebhook(event());
      await request(sdk.webhooks).post('/webhooks/livekit').set(signed.headers).send(signed.body);

      expect(sdk.logs.output).not.toContain(signed.headers.Authorization);
    });
  });
});
