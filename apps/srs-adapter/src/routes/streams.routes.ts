import { defineRoute } from '@castplane/http';
import type { RouteDefinition } from '@castplane/http';

import {
  createStreamBody,
  listStreamsQuery,
  playbackTokenBody,
  publishBody,
  streamIdParams,
  unpublishBody,
} from '../schemas/stream.schemas';
import type { SourceIngest } from '../services/source-ingest';
import type { StreamService } from '../services/stream.service';

/** Builds the stream registry routes under `/api/v1/streams`. */
export function streamRoutes(streams: StreamService, ingest: SourceIngest): RouteDefinition[] {
  return [
    defineRoute({
      method: 'post', path: '/api/v1/streams', summary: 'Create a stream and its secret key', tags: ['streams'], auth: 'write',
      validate: { body: createStreamBody },
      handler: async (req, res) => {
        res.status(201).json(await streams.create(req.valid.body));
      },
    }),
    defineRoute({
      method: 'get', path: '/api/v1/streams', summary: 'List streams', tags: ['streams'], auth: 'read',
      validate: { query: listStreamsQuery },
      handler: async (req, res) => {
        res.json(await streams.list(req.valid.query));
      },
    }),
    defineRoute({
      method: 'get', path: '/api/v1/streams/:streamId', summary: 'Get a stream', tags: ['streams'], auth: 'read',
      validate: { params: streamIdParams },
      handler: async (req, res) => {
        res.json(await streams.get(req.valid.params.streamId));
      },
    }),
    defineRoute({
      method: 'delete', path: '/api/v1/streams/:streamId', summary: 'Revoke the key, end the publish, remove the stream', tags: ['streams'], auth: 'admin',
      validate: { params: streamIdParams },
      handler: async (req, res) => {
        await streams.require(req.valid.params.streamId);
        await ingest.stop(req.valid.params.streamId);
        res.json(await streams.delete(req.valid.params.streamId));
      },
    }),
    defineRoute({
      method: 'post', path: '/api/v1/streams/:streamId/publish', summary: 'Allow publishing again, optionally ingesting a source', tags: ['streams'], auth: 'write',
      validate: { params: streamIdParams, body: publishBody },
      handler: async (req, res) => {
        // The source is checked before publishing is allowed, so a rejected source changes nothing.
        if (req.valid.body.source) await ingest.checkSource(req.valid.body.source);
        const stream = await streams.allowPublish(req.valid.params.streamId);
        const source = req.valid.body.source ? await ingest.start(stream, req.valid.body) : undefined;
        res.json({ streamId: stream.id, publishEnabled: true, ingest: source ?? null });
      },
    }),
    defineRoute({
      method: 'post', path: '/api/v1/streams/:streamId/unpublish', summary: 'End the current publish', tags: ['streams'], auth: 'write',
      validate: { params: streamIdParams, body: unpublishBody },
      handler: async (req, res) => {
        const stopped = await ingest.stop(req.valid.params.streamId);
        const result = await streams.unpublish(req.valid.params.streamId, req.valid.body.disable);
        res.json({ ...result, ingestStopped: stopped, publishEnabled: !req.valid.body.disable });
      },
    }),
    defineRoute({
      method: 'get', path: '/api/v1/streams/:streamId/stat', summary: 'Live figures of a stream', tags: ['streams'], auth: 'read',
      validate: { params: streamIdParams },
      handler: async (req, res) => {
        res.json(await streams.stat(req.valid.params.streamId));
      },
    }),
    defineRoute({
      method: 'post', path: '/api/v1/streams/:streamId/playback-tokens', summary: 'Issue a playback token for a signed stream', tags: ['streams'], auth: 'write',
      validate: { params: streamIdParams, body: playbackTokenBody },
      handler: async (req, res) => {
        const stream = await streams.require(req.valid.params.streamId);
        res.status(201).json({ streamId: stream.id, ...streams.playbackToken(stream, req.valid.body.ttlSeconds) });
      },
    }),
  ];
}
