import { defineRoute } from '@castplane/http';
import type { RouteDefinition } from '@castplane/http';

import { configCreateSchema, configUpdateSchema, streamKeyParams } from '../schemas/stream-config.schema';
import type { StreamConfigService } from '../services/stream-config.service';

const tags = ['configs'];

export function configRoutes(configs: StreamConfigService): RouteDefinition[] {
  return [
    defineRoute({
      method: 'post', path: '/api/encoder/config', summary: 'Create the encoding config of a stream key', tags, auth: 'write',
      validate: { body: configCreateSchema },
      handler: async (req, res) => {
        res.status(201).json(await configs.create(req.valid.body));
      },
    }),
    defineRoute({
      method: 'get', path: '/api/encoder/config/:streamKey', summary: 'Read the encoding config of a stream key', tags, auth: 'read',
      validate: { params: streamKeyParams },
      handler: async (req, res) => {
        res.json(await configs.get(req.valid.params.streamKey));
      },
    }),
    defineRoute({
      method: 'put', path: '/api/encoder/config/:streamKey', summary: 'Replace the encoding config of a stream key', tags, auth: 'write',
      validate: { params: streamKeyParams, body: configUpdateSchema },
      handler: async (req, res) => {
        res.json(await configs.update(req.valid.params.streamKey, req.valid.body));
      },
    }),
    defineRoute({
      method: 'delete', path: '/api/encoder/config/:streamKey', summary: 'Delete the encoding config of a stream key', tags, auth: 'write',
      validate: { params: streamKeyParams },
      handler: async (req, res) => {
        await configs.delete(req.valid.params.streamKey);
        res.status(204).end();
      },
    }),
  ];
}
