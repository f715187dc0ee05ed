import type { Request, Response } from 'express';

import type { RegionService } from '../services/region.service';
import type { SettingsService } from '../services/settings.service';

export function configHandlers(settings: SettingsService, regions: RegionService) {
  return {
    get(_req: Request, res: Response): void {
      res.json(settings.view());
    },

    async update(req: Request, res: Response): Promise<void> {
      const changed = await settings.update(req.valid.body);
      res.json({ ...settings.view(), changed: Object.keys(changed) });
    },

    async regions(_req: Request, res: Response): Promise<void> {
      res.json(await regions.list());
    },
  };
}
