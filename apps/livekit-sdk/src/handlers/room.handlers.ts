import type { Request, Response } from 'express';

import { hasScope } from '@castplane/auth';
import { AppError } from '@castplane/errors';

import { roomView } from '../clients/livekit.client';
import type { RoomService } from '../services/room.service';

/** Returns the default join identity: the caller's client or key id with unsafe characters replaced. */
function callerIdentity(req: Request): string {
  return (req.principal?.id ?? 'anonymous').replace(/^(jwt|key):/, '').replace(/[^A-Za-z0-9._@:-]/g, '-');
}

function publishDenied(field: string): AppError {
  return new AppError('permission_denied', 'publishing needs the "write" scope', {
    details: [{ field, message: 'needs the "write" scope' }],
  });
}

export function roomHandlers(rooms: RoomService) {
  return {
    async create(req: Request, res: Response): Promise<void> {
      const { room } = await rooms.create(req.valid.body);
      res.status(201).json(roomView(room));
    },

    async get(req: Request, res: Response): Promise<void> {
      res.json(await rooms.get(req.valid.params.roomId));
    },

    async join(req: Request, res: Response): Promise<void> {
      const body = req.valid.body as { identity?: string; canPublish?: boolean; canPublishData?: boolean };
      // Without the write scope a join is subscribe-only: no media and no data messages.
      const mayPublish = hasScope(req.principal?.scopes ?? [], 'write');
      if (body.canPublish && !mayPublish) throw publishDenied('body.canPublish');
      if (body.canPublishData && !mayPublish) throw publishDenied('body.canPublishData');
      const issued = await rooms.join(req.valid.params.roomId, {
        ...req.valid.body,
        identity: body.identity ?? callerIdentity(req),
        canPublish: body.canPublish ?? mayPublish,
        canPublishData: body.canPublishData ?? mayPublish,
        issuedBy: req.principal?.id ?? 'unknown',
      });
      res.setHeader('Cache-Control', 'no-store');
      res.status(201).json(issued);
    },

    async leave(req: Request, res: Response): Promise<void> {
      await rooms.leave(req.valid.params.roomId, req.valid.body.identity);
      res.json({ roomName: req.valid.params.roomId, identity: req.valid.body.identity, removed: true });
    },
  };
}
