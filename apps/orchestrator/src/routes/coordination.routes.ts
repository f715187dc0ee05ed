import { randomBytes } from 'node:crypto';

import { defineRoute } from '@castplane/http';
import type { RouteDefinition } from '@castplane/http';

import type { CommandGateway } from '../clients/command.gateway';
import type { StepCommand } from '../flow/flow-steps';
import {
  coordinationRoomSchema,
  coordinationSrsSchema,
  coordinationTranscodeSchema,
  healthParams,
  syncBodySchema,
  syncTargetParams,
} from '../schemas/orchestrate.schemas';
import type { ConfigSyncService, SyncTarget } from '../services/config-sync.service';
import type { HealthService, HealthTarget } from '../services/health.service';

export interface CoordinationDeps {
  gateway: CommandGateway;
  timeoutMs: number;
  defaultProfiles: string[];
}

/** Builds the routes that run one flow step on its own, through the same command queue the flow uses. */
export function coordinationRoutes({ gateway, timeoutMs, defaultProfiles }: CoordinationDeps): RouteDefinition[] {
  const run = (command: StepCommand) =>
    gateway.send(command, { jobId: `coordination.${randomBytes(8).toString('hex')}`, timeoutMs });
  const tags = ['coordination'];
  return [
    defineRoute({
      method: 'post',
      path: '/api/coordination/srs/start',
      summary: 'Create a stream in srs-adapter and return its publish and playback URLs',
      tags,
      auth: 'write',
      validate: { body: coordinationSrsSchema },
      handler: async (req, res) => {
        const payload = { ...req.valid.body, requestId: req.valid.body.requestId ?? `coordination.${randomBytes(8).toString('hex')}` };
        res.status(201).json(await run({ service: 'srs-adapter', command: 'stream.create', payload }));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/coordination/livekit/create-room',
      summary: 'Create a room in livekit-server',
      tags,
      auth: 'write',
      validate: { body: coordinationRoomSchema },
      handler: async (req, res) => {
        res.status(201).json(await run({ service: 'livekit-server', command: 'room.create', payload: req.valid.body }));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/coordination/encoder/start-transcode',
      summary: 'Arm a transcode in the encoder; it starts when the stream goes live',
      tags,
      auth: 'write',
      validate: { body: coordinationTranscodeSchema(defaultProfiles) },
      handler: async (req, res) => {
        res.status(201).json(await run({ service: 'encoder', command: 'transcode.arm', payload: req.valid.body }));
      },
    }),
  ];
}

export function configSyncRoutes(sync: ConfigSyncService): RouteDefinition[] {
  const tags = ['config'];
  return [
    defineRoute({
      method: 'get',
      path: '/api/config/sync/:target',
      summary: 'Show the central settings of srs, livekit or encoder',
      tags,
      auth: 'admin',
      validate: { params: syncTargetParams },
      handler: async (req, res) => {
        const target = req.valid.params.target as SyncTarget;
        res.json({ target, settings: await sync.settings(target) });
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/config/sync/:target',
      summary: 'Merge optional settings into the central config and push it to the services; returns what changed',
      tags,
      auth: 'admin',
      validate: { params: syncTargetParams, body: syncBodySchema },
      handler: async (req, res) => {
        res.json(await sync.sync(req.valid.params.target as SyncTarget, req.valid.body?.settings));
      },
    }),
  ];
}

/** `/health/<target>` routes of the health listener: 200 when every check is up, 503 otherwise. */
export function healthRoutes(health: HealthService): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get',
      path: '/health/:target',
      summary: 'Check srs, livekit, encoder or backend (Redis, ffmpeg, queues) with a timeout per check',
      tags: ['health'],
      auth: 'none',
      rateLimit: false,
      bodyType: 'none',
      validate: { params: healthParams },
      handler: async (req, res) => {
        const report = await health.report(req.valid.params.target as HealthTarget);
        res.status(report.status === 'up' ? 200 : 503).json(report);
      },
    }),
  ];
}
