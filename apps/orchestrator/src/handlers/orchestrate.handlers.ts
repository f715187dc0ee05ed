import type { Request, Response } from 'express';

import { hasScope } from '@castplane/auth';
import { invalidArgument } from '@castplane/errors';

import type { OrchestrationRequest } from '../schemas/orchestration.types';
import { IDEMPOTENCY_KEY_PATTERN } from '../schemas/orchestrate.schemas';
import type { OrchestrationService } from '../services/orchestration.service';

export interface OrchestrateHandlerDeps {
  orchestrations: OrchestrationService;
  waitTimeoutMs: number;
}

function idempotencyKeyOf(req: Request): string | undefined {
  const key = req.get('idempotency-key');
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw invalidArgument('invalid request: headers.idempotency-key', [
      { field: 'headers.idempotency-key', message: 'must be 1-128 letters, digits or _ . : -' },
    ]);
  }
  return key;
}

function toRequest(body: Record<string, any>): OrchestrationRequest {
  return {
    name: body.name,
    title: body.title ?? body.name,
    app: body.app,
    profiles: body.profiles,
    record: body.record,
    hostIdentity: body.hostIdentity,
    room: { ...body.room, name: body.room.name ?? body.name },
  };
}

export function orchestrateHandlers({ orchestrations, waitTimeoutMs }: OrchestrateHandlerDeps) {
  return {
    async start(req: Request, res: Response): Promise<void> {
      const key = idempotencyKeyOf(req);
      const { record, created } = await orchestrations.start(toRequest(req.valid.body), key);
      const statusUrl = `/api/stream/orchestrate/status?id=${record.id}`;
      res.setHeader('Location', statusUrl);
      if (!req.valid.query.wait) {
        res.status(202).json({ id: record.id, status: record.status, created, statusUrl });
        return;
      }
      const timeoutMs = Math.min(req.valid.query.timeoutMs ?? waitTimeoutMs, waitTimeoutMs);
      const settled = await orchestrations.waitForSettled(record.id, timeoutMs);
      const finished = settled.status !== 'starting' && settled.status !== 'rolling_back';
      res.status(finished ? 200 : 202).json({ ...(await orchestrations.view(settled)), created });
    },

    async stop(req: Request, res: Response): Promise<void> {
      const record = await orchestrations.stop(req.valid.body.id);
      const statusUrl = `/api/stream/orchestrate/status?id=${record.id}`;
      if (!req.valid.query.wait) {
        res.status(202).json({ id: record.id, status: record.status, statusUrl });
        return;
      }
      const timeoutMs = Math.min(req.valid.query.timeoutMs ?? waitTimeoutMs, waitTimeoutMs);
      const settled = await orchestrations.waitForSettled(record.id, timeoutMs);
      res.status(settled.status === 'stopping' ? 202 : 200).json(await orchestrations.view(settled));
    },

    async status(req: Request, res: Response): Promise<void> {
      const { id, limit, offset } = req.valid.query;
      if (id) {
        // The RTMP URL carries the stream key and the host token can publish: only callers who
        // may change the orchestration (write scope) see them.
        const withSecrets = hasScope(req.principal?.scopes ?? [], 'write');
        res.json(await orchestrations.view(await orchestrations.require(id), withSecrets));
        return;
      }
      res.json(await orchestrations.list(limit, offset));
    },

    async token(req: Request, res: Response): Promise<void> {
      const { id, identity, role, ttlSeconds } = req.valid.body;
      res.status(201).json(await orchestrations.issueToken(id, identity, role, ttlSeconds));
    },
  };
}
