import { Joi } from '@castplane/config';
import { defineRoute } from '@castplane/http';
import type { RouteDefinition } from '@castplane/http';

import type { LogBuffer } from '../monitoring/log-buffer';
import type { MonitoringService } from '../services/monitoring.service';

const tags = ['monitoring'];

const logsQuery = Joi.object({
  jobId: Joi.string().pattern(/^[A-Za-z0-9_-]{1,200}$/),
  source: Joi.string().valid('service', 'ffmpeg'),
  limit: Joi.number().integer().min(1).max(5000).default(200),
});

export function monitoringRoutes(monitoring: MonitoringService, logs: LogBuffer): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get', path: '/api/encoder/stats', summary: 'Running and queued jobs, speed, workers, CPU and memory', tags, auth: 'read',
      handler: async (_req, res) => {
        res.json(await monitoring.stats());
      },
    }),
    defineRoute({
      method: 'get', path: '/api/encoder/logs', summary: 'Recent service and ffmpeg log lines of this replica', tags, auth: 'read',
      validate: { query: logsQuery },
      handler: (req, res) => {
        res.json({ items: logs.list(req.valid.query), capacityUsed: logs.size });
      },
    }),
    defineRoute({
      method: 'get', path: '/api/encoder/health', summary: 'Workers, queue depth, ffmpeg and Redis', tags, auth: 'read',
      handler: async (_req, res) => {
        const health = await monitoring.health();
        res.status(health.status === 'ok' ? 200 : 503).json(health);
      },
    }),
  ];
}
