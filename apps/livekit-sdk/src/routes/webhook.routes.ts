import type { RouteDefinition } from '@castplane/http';
import { defineRoute } from '@castplane/http';

import { webhookHandler } from '../handlers/webhook.handlers';
import type { WebhookIntake } from '../services/webhook.service';

/** The event names that have their own URL; LiveKit itself posts every event to one URL. */
export const WEBHOOK_EVENT_ROUTES = [
  'room_created',
  'room_deleted',
  'participant_joined',
  'participant_left',
  'track_published',
  'track_unpublished',
] as const;

// The signed JWT is the credential, and a 429 would make LiveKit drop or delay the event, so
// these routes skip both the bearer auth and the rate limiter.
const WEBHOOK_ROUTE: Omit<RouteDefinition, 'path' | 'summary' | 'handler'> = {
  method: 'post',
  tags: ['webhooks'],
  auth: 'none',
  rateLimit: false,
  bodyType: 'raw',
  rawTypes: ['application/webhook+json', 'application/json'],
  bodyLimit: '1mb',
};

export function webhookRoutes(intake: WebhookIntake): RouteDefinition[] {
  return [
    defineRoute({
      ...WEBHOOK_ROUTE,
      path: '/webhooks/livekit',
      summary: 'Receive any LiveKit webhook (signed)',
      handler: webhookHandler(intake),
    }),
    ...WEBHOOK_EVENT_ROUTES.map((event) =>
      defineRoute({
        ...WEBHOOK_ROUTE,
        path: `/webhooks/livekit/${event}`,
        summary: `Receive a ${event} webhook (signed)`,
        handler: webhookHandler(intake, event),
      }),
    ),
  ];
}
