import type { Request, Response } from 'express';

import type { SettingsService } from '../services/settings.service';
import type { TokenService } from '../services/token.service';

export function tokenHandlers(tokens: TokenService, settings: SettingsService) {
  return {
    async generate(req: Request, res: Response): Promise<void> {
      const body = req.valid.body;
      const issued = await tokens.issue({
        ...body,
        ttlSeconds: body.ttlSeconds ?? settings.current().defaultTokenTtlSeconds,
        issuedBy: req.principal?.id ?? 'unknown',
      });
      res.setHeader('Cache-Control', 'no-store');
      res.status(201).json(issued);
    },

    async validate(req: Request, res: Response): Promise<void> {
      res.json(await tokens.validate(req.valid.body.token));
    },

    async get(req: Request, res: Response): Promise<void> {
      res.json(await tokens.get(req.valid.params.tokenId));
    },

    async revoke(req: Request, res: Response): Promise<void> {
      res.json(await tokens.revoke(req.valid.params.tokenId));
    },
  };
}
