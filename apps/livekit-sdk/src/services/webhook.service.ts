import { createHash } from 'node:crypto';

import type { Queue } from 'bullmq';
import { WebhookEvent } from 'livekit-server-sdk';

import type { EventMap, EventName } from '@castplane/contracts';
import { AppError, unauthenticated, unavailable } from '@castplane/errors';
import type { Logger } from '@castplane/logging';
import type { EventPublisher, Redis } from '@castplane/redis';
import { applyOnce } from '@castplane/redis';

import type { LivekitClients } from '../clients/livekit.client';
import { trackKind } from '../clients/livekit.client';
import type { AnalyticsStore, RoomActivity } from './analytics.store';
import type { SettingsService } from './settings.service';

export const WEBHOOK_QUEUE = 'livekit-sdk-webhooks';

/** The job a verified webhook becomes: the event as protobuf JSON. */
export interface WebhookJob {
  event: Record<string, unknown>;
  receivedAt: string;
}

/** Route names for the per-event URLs: LiveKit's room_started and room_finished have aliases. */
export const EVENT_ALIASES: Record<string, string> = {
  room_created: 'room_started',
  room_deleted: 'room_finished',
};

const SEEN_TTL_SECONDS = 24 * 3600;

/**
 * Verifies webhooks over the raw body as the SDK's `WebhookReceiver` does, drops ids already seen,
 * and queues the rest, so the sender gets its response before any processing happens.
 */
export class WebhookIntake {
  constructor(
    private readonly deps: {
      redis: Redis;
      keyPrefix: string;
      livekit: LivekitClients;
      settings: SettingsService;
      queue: Queue<WebhookJob>;
      logger: Logger;
    },
  ) {}

  async receive(rawBody: Buffer, authorization: string | undefined, expectedEvent?: string) {
    const event = await this.verify(rawBody, authorization);
    if (expectedEvent && event.event !== (EVENT_ALIASES[expectedEvent] ?? expectedEvent)) {
      const message = `this URL accepts ${expectedEvent} events, not ${event.event}`;
      throw new AppError('unprocessable_entity', message, {
        details: [{ field: 'body.event', message: `expected ${expectedEvent}` }],
      });
    }
    // LiveKit always sets an id; a body without one is deduplicated by its hash instead.
    const id = event.id || `body-${createHash('sha256').update(rawBody).digest('hex').slice(0, 32)}`;
    const accepted = this.deps.settings.current().webhook.acceptedEvents;
    if (accepted.length > 0 && !accepted.includes(event.event)) {
      return { status: 'ignored', id, event: event.event };
    }

    const seenKey = `${this.deps.keyPrefix}:lksdk:webhook-seen:${id}`;
    const fresh = await this.deps.redis.set(seenKey, '1', 'EX', SEEN_TTL_SECONDS, 'NX');
    if (fresh !== 'OK') return { status: 'duplicate', id, event: event.event };
    try {
      const job: WebhookJob = {
        event: event.toJson() as Record<string, unknown>,
        receivedAt: new Date().toISOString(),
      };
      await this.deps.queue.add(event.event, job, {
        jobId: id,
        attempts: 5,
        backoff: { type: 'exponential', delay: 500 },
      });
    } catch (error) {
      await this.deps.redis.del(seenKey);
      const reason = error instanceof Error ? error.message : String(error);
      this.deps.logger.warn('webhook could not be queued', { eventId: id, err: reason });
      // A 5xx makes LiveKit retry the delivery; a 4xx would lose the event.
      throw unavailable('the webhook could not be queued; retry later');
    }
    return { status: 'accepted', id, event: event.event };
  }

  // Checks the signature first, so an unsigned body of any shape is 401. Only a signed body is
  // parsed, and a parse failure is then the sender's 400, not an auth error.
  private async verify(rawBody: Buffer, authorization: string | undefined): Promise<WebhookEvent> {
    if (!authorization) {
      throw webhookRejected('the Authorization header with the signed webhook token is missing');
    }
    await this.checkSignature(rawBody, authorization);
    return parseEvent(rawBody.toString('utf8'));
  }

  // The same checks as the SDK's WebhookReceiver.receive: the token verifies against the API key
  // and secret, and its sha256 claim is the base64 SHA-256 of the body.
  private async checkSignature(rawBody: Buffer, authorization: string): Promise<void> {
    const tolerance = this.deps.settings.current().webhook.clockToleranceSeconds;
    let claims: { sha256?: unknown };
    try {
      claims = await this.deps.livekit.verifier.verify(authorization, tolerance);
    } catch (error) {
      throw webhookRejected(`the webhook signature is invalid: ${describe(error)}`);
    }
    const checksum = createHash('sha256').update(rawBody).digest('base64');
    if (claims.sha256 !== checksum) {
      throw webhookRejected('the webhook signature is invalid: the body does not match the signed checksum');
    }
  }
}

function webhookRejected(message: string): AppError {
  const error = unauthenticated(message);
  return new AppError('unauthenticated', message, {
    reason: 'invalid_webhook_signature',
    headers: error.headers,
    details: [{ field: 'headers.authorization', message: 'invalid or missing' }],
  });
}

/** Parses a signed body into a WebhookEvent. Throws 400 `malformed` or `invalid_argument`. */
function parseEvent(body: string): WebhookEvent {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new AppError('malformed', 'the webhook body is not valid JSON', {
      details: [{ field: 'body', message: 'invalid JSON' }],
    });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new AppError('invalid_argument', 'the webhook body must be a JSON object', {
      details: [{ field: 'body', message: 'expected a JSON object' }],
    });
  }
  try {
    return WebhookEvent.fromJson(json as never, { ignoreUnknownFields: true });
  } catch {
    throw new AppError('invalid_argument', 'the webhook body is not a LiveKit WebhookEvent', {
      details: [{ field: 'body', message: 'a field has the wrong type or value' }],
    });
  }
}

// Maps jose's error codes (the SDK verifies with jose) to a message without token contents.
function describe(error: unknown): string {
  const { code, claim } = (error ?? {}) as { code?: string; claim?: string };
  if (code === 'ERR_JWT_EXPIRED') return 'the token has expired';
  if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return 'the token signature does not verify';
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && claim === 'iss') {
    return 'the token was not issued by the configured API key';
  }
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') return `the token claim "${claim}" is invalid`;
  return 'the token is malformed';
}

/** Applies queued webhooks: analytics once per event id, then the matching platform event. */
export class WebhookProcessor {
  constructor(
    private readonly deps: {
      redis: Redis;
      keyPrefix: string;
      analytics: AnalyticsStore;
      events: EventPublisher;
      logger: Logger;
    },
  ) {}

  async process(job: WebhookJob): Promise<void> {
    const event = WebhookEvent.fromJson(job.event as never, { ignoreUnknownFields: true });
    const activity = toActivity(event);
    if (activity) {
      await applyOnce(this.deps.redis, this.deps.keyPrefix, 'livekit-sdk-analytics', event.id, () =>
        this.deps.analytics.apply(activity),
      );
    }
    await this.publish(event);
    this.deps.logger.info('webhook applied', {
      event: event.event,
      eventId: event.id,
      roomName: event.room?.name,
    });
  }

  // The platform event id is derived from LiveKit's, so a retried job publishes no duplicate.
  private async publish(event: WebhookEvent): Promise<void> {
    const platform = toPlatformEvent(event);
    if (!platform) return;
    await this.deps.events.publish(platform.type, platform.data as never, `livekit-${event.id}`);
  }
}

type PlatformEvent = { type: EventName; data: EventMap[EventName] };

/** Maps a LiveKit webhook to the platform event the orchestrator consumes, if there is one. */
export function toPlatformEvent(event: WebhookEvent): PlatformEvent | undefined {
  const roomName = event.room?.name || event.egressInfo?.roomName || '';
  const roomSid = event.room?.sid ?? '';
  const identity = event.participant?.identity ?? '';
  const participant = { roomName, identity, participantSid: event.participant?.sid ?? '' };
  const track = { roomName, identity, trackSid: event.track?.sid ?? '', kind: trackKind(event.track?.type) };
  const egress = { roomName, egressId: event.egressInfo?.egressId ?? '' };
  const mapping: Record<string, PlatformEvent> = {
    room_started: { type: 'room.started', data: { roomName, roomSid } },
    room_finished: { type: 'room.finished', data: { roomName, roomSid } },
    participant_joined: { type: 'participant.joined', data: participant },
    participant_left: { type: 'participant.left', data: participant },
    track_published: { type: 'track.published', data: track },
    track_unpublished: { type: 'track.unpublished', data: track },
    egress_started: { type: 'egress.started', data: egress },
    egress_ended: { type: 'egress.ended', data: egress },
  };
  return mapping[event.event];
}

// LiveKit sends both a seconds and a milliseconds field for room creation and participant joins.
function milliseconds(ms: bigint | undefined, seconds: bigint | undefined): number {
  return ms ? Number(ms) : Number(seconds ?? 0) * 1000;
}

/** Reduces a room or participant event to its analytics effect, with times in milliseconds. */
export function toActivity(event: WebhookEvent): RoomActivity | undefined {
  const types: RoomActivity['type'][] = [
    'room_started',
    'room_finished',
    'participant_joined',
    'participant_left',
    'participant_connection_aborted',
  ];
  const type = types.find((name) => name === event.event);
  if (!type || !event.room) return undefined;
  const at = event.createdAt ? Number(event.createdAt) * 1000 : Date.now();
  const created = milliseconds(event.room.creationTimeMs, event.room.creationTime);
  const joined = milliseconds(event.participant?.joinedAtMs, event.participant?.joinedAt);
  return {
    type,
    at,
    roomName: event.room.name,
    roomSid: event.room.sid || event.room.name,
    roomCreatedAt: created > 0 ? created : undefined,
    participantSid: event.participant?.sid || undefined,
    identity: event.participant?.identity || undefined,
    participantJoinedAt: joined > 0 ? joined : undefined,
  };
}
