import { defineRoute } from '@castplane/http';
import type { RouteDefinition } from '@castplane/http';

import type { OrchestrateHandlerDeps } from '../handlers/orchestrate.handlers';
import { orchestrateHandlers } from '../handlers/orchestrate.handlers';
import {
  idBodySchema,
  startBodySchema,
  startQuerySchema,
  statusQuerySchema,
  tokenBodySchema,
} from '../schemas/orchestrate.schemas';

const tags = ['orchestration'];

export function orchestrateRoutes(deps: OrchestrateHandlerDeps & { defaultProfiles: string[] }): RouteDefinition[] {
  const handlers = orchestrateHandlers(deps);
  return [
    defineRoute({
      method: 'post',
      path: '/api/stream/orchestrate/start',
      summary: 'Start a live event: stream, room, armed transcode, broadcast and host token',
      tags,
      auth: 'write',
      validate: { body: startBodySchema(deps.defaultProfiles), query: startQuerySchema },
      handler: handlers.start,
    }),
    defineRoute({
      method: 'post',
      path: '/api/stream/orchestrate/stop',
      summary: 'Tear a live event down in reverse order, keeping recordings',
      tags,
      auth: 'write',
      validate: { body: idBodySchema, query: startQuerySchema },
      handler: handlers.stop,
    }),
    defineRoute({
      method: 'get',
      path: '/api/stream/orchestrate/status',
      summary: 'List orchestrations, or show one with its steps, URLs and history',
      tags,
      auth: 'read',
      validate: { query: statusQuerySchema },
      handler: handlers.status,
    }),
    defineRoute({
      method: 'post',
      path: '/api/stream/orchestrate/token',
      summary: "Issue a host or viewer token for an orchestration's room",
      tags,
      auth: 'write',
      validate: { body: tokenBodySchema },
      handler: handlers.token,
    }),
  ];
}
