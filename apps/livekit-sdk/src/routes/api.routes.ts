import type { RouteDefinition } from '@castplane/http';
import { defineRoute } from '@castplane/http';

import { analyticsHandlers } from '../handlers/analytics.handlers';
import { authHandlers, requireLiveSession } from '../handlers/auth.handlers';
import { configHandlers } from '../handlers/config.handlers';
import { roomHandlers } from '../handlers/room.handlers';
import { streamHandlers } from '../handlers/stream.handlers';
import { tokenHandlers } from '../handlers/token.handlers';
import * as schemas from '../schemas/livekit-sdk.schemas';
import type { AppServices } from '../services';

const BASE = '/api/livekit';

function authRoutes(services: AppServices): RouteDefinition[] {
  const handlers = authHandlers(services.auth);
  return [
    defineRoute({
      method: 'post',
      path: `${BASE}/auth/login`,
      summary: 'Exchange client credentials for an access and a refresh token',
      tags: ['auth'],
      auth: 'none',
      validate: { body: schemas.loginBody },
      handler: handlers.login,
    }),
    defineRoute({
      method: 'post',
      path: `${BASE}/auth/refresh`,
      summary: 'Rotate a refresh token; reusing an old one revokes the session',
      tags: ['auth'],
      auth: 'none',
      validate: { body: schemas.refreshBody },
      handler: handlers.refresh,
    }),
    defineRoute({
      method: 'post',
      path: `${BASE}/auth/logout`,
      summary: 'Revoke the session of the access token (and of a given refresh token)',
      tags: ['auth'],
      auth: 'read',
      validate: { body: schemas.logoutBody },
      handler: handlers.logout,
    }),
  ];
}

function streamRoutes(services: AppServices): RouteDefinition[] {
  const handlers = streamHandlers(services.streams);
  const params = schemas.streamParams;
  return [
    defineRoute({
      method: 'post',
      path: `${BASE}/stream/create`,
      summary: 'Create a broadcast stream and its LiveKit room',
      tags: ['streams'],
      auth: 'write',
      validate: { body: schemas.createStreamBody },
      handler: handlers.create,
    }),
    defineRoute({
      method: 'get',
      path: `${BASE}/stream/:streamId`,
      summary: 'Get a broadcast stream',
      tags: ['streams'],
      auth: 'read',
      validate: { params },
      handler: handlers.get,
    }),
    defineRoute({
      method: 'put',
      path: `${BASE}/stream/:streamId`,
      summary: 'Update a broadcast stream',
      tags: ['streams'],
      auth: 'write',
      validate: { params, body: schemas.updateStreamBody },
      handler: handlers.update,
    }),
    defineRoute({
      method: 'delete',
      path: `${BASE}/stream/:streamId`,
      summary: 'Delete a broadcast stream and its room',
      tags: ['streams'],
      auth: 'write',
      validate: { params },
      handler: handlers.remove,
    }),
    defineRoute({
      method: 'post',
      path: `${BASE}/stream/:streamId/start`,
      summary: 'Mark the stream live in its room metadata',
      tags: ['streams'],
      auth: 'write',
      bodyType: 'none',
      validate: { params },
      handler: handlers.start,
    }),
    defineRoute({
      method: 'post',
      path: `${BASE}/stream/:streamId/stop`,
      summary: 'End the stream and remove its participants',
      tags: ['streams'],
      auth: 'write',
      bodyType: 'none',
      validate: { params },
      handler: handlers.stop,
    }),
  ];
}

function roomRoutes(services: AppServices): RouteDefinition[] {
  const handlers = roomHandlers(services.rooms);
  const params = schemas.roomParams;
  return [
    defineRoute({
      method: 'post',
      path: `${BASE}/room/create`,
      summary: 'Create a room on the LiveKit server',
      tags: ['rooms'],
      auth: 'write',
      validate: { body: schemas.createRoomBody },
      handler: handlers.create,
    }),
    defineRoute({
      method: 'get',
      path: `${BASE}/room/:roomId`,
      summary: 'Get a room with its live participants',
      tags: ['rooms'],
      auth: 'read',
      validate: { params },
      handler: handlers.get,
    }),
    defineRoute({
      method: 'post',
      path: `${BASE}/room/:roomId/join`,
      summary: 'Issue a participant token and the signalling URL',
      tags: ['rooms'],
      auth: 'read',
      validate: { params, body: schemas.joinBody },
      handler: handlers.join,
    }),
    defineRoute({
      method: 'post',
      path: `${BASE}/room/:roomId/leave`,
      summary: 'Remove a participant from the room',
      tags: ['rooms'],
      auth: 'write',
      validate: { params, body: schemas.leaveBody },
      handler: handlers.leave,
    }),
  ];
}

function tokenRoutes(services: AppServices): RouteDefinition[] {
  const handlers = tokenHandlers(services.tokens, services.settings);
  const params = schemas.tokenParams;
  return [
    defineRoute({
      method: 'post',
      path: `${BASE}/token/generate`,
      summary: 'Issue a LiveKit access token',
      tags: ['tokens'],
      auth: 'write',
      validate: { body: schemas.generateTokenBody },
      handler: handlers.generate,
    }),
    defineRoute({
      method: 'post',
      path: `${BASE}/token/validate`,
      summary: 'Check a LiveKit access token',
      tags: ['tokens'],
      auth: 'read',
      validate: { body: schemas.validateTokenBody },
      handler: handlers.validate,
    }),
    defineRoute({
      method: 'get',
      path: `${BASE}/token/:tokenId`,
      summary: 'What was issued under a token id (never the token)',
      tags: ['tokens'],
      auth: 'read',
      validate: { params },
      handler: handlers.get,
    }),
    defineRoute({
      method: 'post',
      path: `${BASE}/token/:tokenId/revoke`,
      summary: 'Mark an issued token revoked',
      tags: ['tokens'],
      auth: 'write',
      bodyType: 'none',
      validate: { params },
      handler: handlers.revoke,
    }),
  ];
}

function configRoutes(services: AppServices): RouteDefinition[] {
  const handlers = configHandlers(services.settings, services.regions);
  return [
    defineRoute({
      method: 'get',
      path: `${BASE}/config`,
      summary: 'Current settings (secrets are write-only)',
      tags: ['config'],
      auth: 'read',
      handler: handlers.get,
    }),
    defineRoute({
      method: 'put',
      path: `${BASE}/config`,
      summary: 'Change settings; persisted in Redis',
      tags: ['config'],
      auth: 'admin',
      validate: { body: schemas.configBody },
      handler: handlers.update,
    }),
    defineRoute({
      method: 'get',
      path: `${BASE}/config/regions`,
      summary: 'Configured regions and whether each LiveKit URL answers',
      tags: ['config'],
      auth: 'read',
      handler: handlers.regions,
    }),
  ];
}

function analyticsRoutes(services: AppServices): RouteDefinition[] {
  const handlers = analyticsHandlers(services.analytics);
  const query = schemas.analyticsQuery;
  return [
    defineRoute({
      method: 'get',
      path: `${BASE}/analytics/rooms`,
      summary: 'Active and total rooms, durations, peak participants',
      tags: ['analytics'],
      auth: 'read',
      validate: { query },
      handler: handlers.rooms,
    }),
    defineRoute({
      method: 'get',
      path: `${BASE}/analytics/participants`,
      summary: 'Joins, leaves and session lengths',
      tags: ['analytics'],
      auth: 'read',
      validate: { query },
      handler: handlers.participants,
    }),
    defineRoute({
      method: 'get',
      path: `${BASE}/analytics/bandwidth`,
      summary: 'Client-reported bytes and bitrate, bucketed',
      tags: ['analytics'],
      auth: 'read',
      validate: { query },
      handler: handlers.bandwidth,
    }),
    defineRoute({
      method: 'get',
      path: `${BASE}/analytics/quality`,
      summary: 'Client-reported loss, jitter, RTT and quality, bucketed',
      tags: ['analytics'],
      auth: 'read',
      validate: { query },
      handler: handlers.quality,
    }),
    defineRoute({
      method: 'post',
      path: `${BASE}/analytics/stats`,
      summary: 'Report client stats samples',
      tags: ['analytics'],
      auth: 'write',
      validate: { body: schemas.statsBody },
      handler: handlers.stats,
    }),
  ];
}

/** Lists every route of the SDK API listener. Authenticated routes also reject revoked sessions. */
export function apiRoutes(services: AppServices): RouteDefinition[] {
  const live = requireLiveSession(services.auth);
  const routes = [
    ...authRoutes(services),
    ...streamRoutes(services),
    ...roomRoutes(services),
    ...tokenRoutes(services),
    ...configRoutes(services),
    ...analyticsRoutes(services),
  ];
  return routes.map((route) => {
    if (route.auth === 'none') return route;
    return { ...route, before: [live, ...(route.before ?? [])] };
  });
}
