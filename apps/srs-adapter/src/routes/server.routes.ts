import { defineRoute } from '@castplane/http';
import type { RouteDefinition } from '@castplane/http';

import { streamIdParams } from '../schemas/stream.schemas';
import type { DvrService } from '../services/dvr.service';
import type { ServerService } from '../services/server.service';

/** Server information, summaries and the DVR recordings index. */
export function serverRoutes(server: ServerService, dvr: DvrService): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get', path: '/api/v1/server/info', summary: 'Version, mode, media server and ports', tags: ['server'], auth: 'read',
      handler: async (_req, res) => {
        res.json(await server.info());
      },
    }),
    defineRoute({
      method: 'get', path: '/api/v1/server/summaries', summary: 'Stream and viewer counts and media server figures', tags: ['server'], auth: 'read',
      handler: async (_req, res) => {
        res.json(await server.summaries());
      },
    }),
    defineRoute({
      method: 'get', path: '/api/v1/dvr/summaries', summary: 'Recordings per stream', tags: ['dvr'], auth: 'read',
      handler: async (_req, res) => {
        res.json(await dvr.summaries());
      },
    }),
    defineRoute({
      method: 'delete', path: '/api/v1/dvr/:streamId', summary: "Delete a stream's recordings and files", tags: ['dvr'], auth: 'admin',
      validate: { params: streamIdParams },
      handler: async (req, res) => {
        res.json(await dvr.remove(req.valid.params.streamId));
      },
    }),
  ];
}
