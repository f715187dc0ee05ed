import type { Request, Response } from 'express';

import type { StreamService } from '../services/stream.service';

export function streamHandlers(streams: StreamService) {
  return {
    async create(req: Request, res: Response): Promise<void> {
      const { stream, created } = await streams.create(req.valid.body);
      res.status(created ? 201 : 200).json(stream);
    },

    async get(req: Request, res: Response): Promise<void> {
      res.json(await streams.get(req.valid.params.streamId));
    },

    async update(req: Request, res: Response): Promise<void> {
      res.json(await streams.update(req.valid.params.streamId, req.valid.body));
    },

    async remove(req: Request, res: Response): Promise<void> {
      await streams.delete(req.valid.params.streamId);
      res.status(204).end();
    },

    async start(req: Request, res: Response): Promise<void> {
      res.json(await streams.start(req.valid.params.streamId));
    },

    async stop(req: Request, res: Response): Promise<void> {
      res.json(await streams.stop(req.valid.params.streamId));
    },
  };
}
