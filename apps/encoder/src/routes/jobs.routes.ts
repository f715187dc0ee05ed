import type { NextFunction, Request, Response } from 'express';

import { Joi } from '@castplane/config';
import { defineRoute } from '@castplane/http';
import type { RouteDefinition } from '@castplane/http';

import { PROFILE_ID } from '../schemas/profile.schema';
import { STREAM_KEY } from '../schemas/stream-config.schema';
import type { JobService } from '../services/job.service';
import { keyIdOf } from '../services/redis-keys';
import type { UploadService } from '../services/upload.service';

const tags = ['jobs'];
const JOB_STATES = ['active', 'waiting', 'delayed', 'prioritized', 'completed', 'failed', 'cancelled'];
const jobIdParams = Joi.object({ jobId: Joi.string().pattern(/^[A-Za-z0-9_-]{1,200}$/).required() });

const listQuery = Joi.object({
  state: Joi.string().valid(...JOB_STATES),
  streamKey: STREAM_KEY,
  page: Joi.number().integer().min(1).max(10000).default(1),
  pageSize: Joi.number().integer().min(1).max(200).default(50),
});

// Multipart text fields: `profiles` as a comma-separated list of ids.
const uploadBody = Joi.object({
  profiles: Joi.array().items(PROFILE_ID).min(1).max(8).unique().single(),
  segmentSeconds: Joi.number().integer().min(1).max(30),
}).default({});

export function jobRoutes(jobs: JobService, uploads: UploadService): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get', path: '/api/encoder/jobs', summary: 'List transcode jobs, by state and stream key', tags, auth: 'read',
      validate: { query: listQuery },
      handler: async (req, res) => {
        const { streamKey, ...rest } = req.valid.query;
        res.json(await jobs.list({ ...rest, keyId: streamKey ? keyIdOf(streamKey) : undefined }));
      },
    }),
    defineRoute({
      method: 'post', path: '/api/encoder/jobs', summary: 'Upload a media file and queue its HLS VOD ladder', tags, auth: 'write',
      bodyType: 'multipart', before: [uploads.middleware(), splitProfiles],
      validate: { body: uploadBody },
      handler: async (req, res) => {
        res.status(202).json(await uploads.accept(req.file, req.valid.body ?? {}));
      },
    }),
    defineRoute({
      method: 'get', path: '/api/encoder/jobs/:jobId', summary: 'Read a job: state, progress, outputs, error', tags, auth: 'read',
      validate: { params: jobIdParams },
      handler: async (req, res) => {
        res.json(await jobs.get(req.valid.params.jobId));
      },
    }),
    defineRoute({
      method: 'post', path: '/api/encoder/jobs/:jobId/cancel', summary: 'Cancel a queued or running job', tags, auth: 'write', bodyType: 'none',
      validate: { params: jobIdParams },
      handler: async (req, res) => {
        const state = await jobs.requestStop(req.valid.params.jobId, 'cancel');
        res.status(202).json({ jobId: req.valid.params.jobId, state });
      },
    }),
  ];
}

// Multer leaves text fields as strings: `profiles=720p,480p` becomes a list before validation.
function splitProfiles(req: Request, _res: Response, next: NextFunction): void {
  const body = (req.body ?? {}) as Record<string, unknown>;
  if (typeof body.profiles === 'string') body.profiles = body.profiles.split(',').map((id) => id.trim()).filter(Boolean);
  req.body = body;
  next();
}
