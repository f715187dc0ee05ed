import type { Request, Response } from 'express';

import { invalidArgument } from '@castplane/errors';

import type { AnalyticsQuery, AnalyticsService } from '../services/analytics.service';
import type { StatsSample } from '../services/analytics.store';

const DEFAULT_RANGE_MS = 3600 * 1000;
const MAX_BUCKETS = 1000;

/** Turns the validated query into a range, which is the last hour unless `from` or `to` is given. */
export function toAnalyticsQuery(query: {
  from?: Date;
  to?: Date;
  roomName?: string;
  bucketSeconds: number;
  limit: number;
}): AnalyticsQuery {
  const to = query.to?.getTime() ?? Date.now();
  const from = query.from?.getTime() ?? to - DEFAULT_RANGE_MS;
  if (from >= to) {
    throw invalidArgument('invalid request: query.from', [{ field: 'query.from', message: 'must be before "to"' }]);
  }
  if ((to - from) / (query.bucketSeconds * 1000) > MAX_BUCKETS) {
    throw invalidArgument('invalid request: query.bucketSeconds', [
      { field: 'query.bucketSeconds', message: `the range would need more than ${MAX_BUCKETS} buckets` },
    ]);
  }
  return { from, to, roomName: query.roomName, bucketSeconds: query.bucketSeconds, limit: query.limit };
}

export function analyticsHandlers(analytics: AnalyticsService) {
  const report = (name: 'rooms' | 'participants' | 'bandwidth' | 'quality') =>
    async (req: Request, res: Response): Promise<void> => {
      res.json(await analytics[name](toAnalyticsQuery(req.valid.query)));
    };
  return {
    rooms: report('rooms'),
    participants: report('participants'),
    bandwidth: report('bandwidth'),
    quality: report('quality'),

    async stats(req: Request, res: Response): Promise<void> {
      const samples = (req.valid.body.samples as (Omit<StatsSample, 'at'> & { timestamp?: Date })[]).map(
        ({ timestamp, ...sample }) => ({ ...sample, at: timestamp?.getTime() ?? Date.now() }),
      );
      await analytics.recordStats(samples);
      res.status(202).json({ accepted: samples.length });
    },
  };
}
