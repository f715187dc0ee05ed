import { defineRoute } from '@castplane/http';
import type { RouteDefinition } from '@castplane/http';

import { profileCreateSchema, profileIdParams, profileUpdateSchema } from '../schemas/profile.schema';
import type { ProfileService } from '../services/profile.service';

const tags = ['profiles'];

export function profileRoutes(profiles: ProfileService): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get', path: '/api/encoder/profiles', summary: 'List quality profiles', tags, auth: 'read',
      handler: async (_req, res) => {
        res.json({ items: await profiles.list() });
      },
    }),
    defineRoute({
      method: 'post', path: '/api/encoder/profiles', summary: 'Create a quality profile', tags, auth: 'write',
      validate: { body: profileCreateSchema },
      handler: async (req, res) => {
        res.status(201).json(await profiles.create(req.valid.body));
      },
    }),
    defineRoute({
      method: 'put', path: '/api/encoder/profiles/:profileId', summary: 'Replace a quality profile', tags, auth: 'write',
      validate: { params: profileIdParams, body: profileUpdateSchema },
      handler: async (req, res) => {
        res.json(await profiles.update(req.valid.params.profileId, req.valid.body));
      },
    }),
    defineRoute({
      method: 'delete', path: '/api/encoder/profiles/:profileId', summary: 'Delete a profile no config or job uses', tags, auth: 'write',
      validate: { params: profileIdParams },
      handler: async (req, res) => {
        await profiles.delete(req.valid.params.profileId);
        res.status(204).end();
      },
    }),
  ];
}
