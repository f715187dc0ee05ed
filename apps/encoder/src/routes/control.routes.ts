import { Joi } from '@castplane/config';
import { defineRoute } from '@castplane/http';
import type { RouteDefinition } from '@castplane/http';

import { STREAM_KEY, streamKeyBody } from '../schemas/stream-config.schema';
import type { TranscodeService } from '../services/transcode.service';

const tags = ['control'];

export function controlRoutes(transcodes: TranscodeService): RouteDefinition[] {
  return [
    defineRoute({
      method: 'post', path: '/api/encoder/start', summary: 'Start a key\'s pipeline, or arm it until the stream is live', tags, auth: 'write',
      validate: { body: streamKeyBody },
      handler: async (req, res) => {
        const run = await transcodes.start(req.valid.body.streamKey);
        res.status(run.state === 'running' ? 202 : 200).json(run);
      },
    }),
    defineRoute({
      method: 'post', path: '/api/encoder/stop', summary: 'Stop a key\'s pipeline and disarm it', tags, auth: 'write',
      validate: { body: streamKeyBody },
      handler: async (req, res) => {
        res.json(await transcodes.stop(req.valid.body.streamKey));
      },
    }),
    defineRoute({
      method: 'post', path: '/api/encoder/restart', summary: 'Stop and start a key\'s pipeline', tags, auth: 'write',
      validate: { body: streamKeyBody },
      handler: async (req, res) => {
        res.status(202).json(await transcodes.restart(req.valid.body.streamKey));
      },
    }),
    defineRoute({
      method: 'get', path: '/api/encoder/status', summary: 'Pipeline status of one key, or totals', tags, auth: 'read',
      validate: { query: Joi.object({ streamKey: STREAM_KEY }) },
      handler: async (req, res) => {
        res.json(await transcodes.status(req.valid.query.streamKey));
      },
    }),
  ];
}
