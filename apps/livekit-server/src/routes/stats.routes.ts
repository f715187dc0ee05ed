import type { Response } from 'express';

import { defineRoute } from '@castplane/http';
import type { RouteDefinition, ValidRequest } from '@castplane/http';

import type { StatsService } from '../services/stats.service';

/** Counts, connection times, relayed messages and client-reported quality. */
export function statsRoutes(stats: StatsService): RouteDefinition[] {
  const tags = ['stats'];
  return [
    defineRoute({
      method: 'get',
      path: '/api/stats/server',
      summary: 'Server-wide counts',
      tags,
      auth: 'read',
      handler: async (_req: ValidRequest<{}>, res: Response) => {
        res.json(await stats.server());
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/stats/rooms',
      summary: 'Per-room counts',
      tags,
      auth: 'read',
      handler: async (_req: ValidRequest<{}>, res: Response) => {
        res.json({ rooms: await stats.rooms() });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/stats/participants',
      summary: 'Per-participant connection times, relayed messages and client-reported quality',
      tags,
      auth: 'read',
      handler: async (_req: ValidRequest<{}>, res: Response) => {
        res.json({ participants: await stats.participants() });
      },
    }),
  ];
}
