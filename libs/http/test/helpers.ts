import type { Server } from 'node:http';

import { Joi } from '@castplane/config';
import { Runtime, defineRoute } from '@castplane/http';
import type { RouteDefinition } from '@castplane/http';
import { LogCapture, apiKeyEntry, baseTestEnv } from '@castplane/testing';
import { loadConfig, baseEnvSchema } from '@castplane/config';
import type { BaseConfig } from '@castplane/config';

export const READ_KEY = 'read-only-key-0123456789';
export const WRITE_KEY = 'writer-key-0123456789abc';

/** Routes that exercise each part of the middleware stack. */
export function sampleRoutes(): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/items',
      summary: 'List items',
      auth: 'read',
      validate: { query: Joi.object({ limit: Joi.number().integer().min(1).max(50).default(10) }) },
      handler: (req, res) => {
        res.json({ limit: req.valid.query.limit, principal: req.principal?.id });
      },
    }),
    defineRoute<{ body: { name: string; size: number } }>({
      method: 'post',
      path: '/api/items',
      summary: 'Create an item',
      auth: 'write',
      validate: {
        body: Joi.object({
          name: Joi.string().pattern(/^[a-z0-9-]+$/).max(40).required(),
          size: Joi.number().integer().min(1).required(),
        }),
      },
      handler: (req, res) => {
        req.log.info('item created', { name: req.valid.body.name, streamKey: 'sk-live-should-not-leak' });
        res.status(201).json(req.valid.body);
      },
    }),
    defineRoute<{ params: { id: string } }>({
      method: 'get',
      path: '/api/items/:id',
      summary: 'Get one item slowly',
      auth: 'read',
      validate: { params: Joi.object({ id: Joi.string().pattern(/^[a-z0-9]{1,20}$/).required() }) },
      handler: async (req, res) => {
        await new Promise((resolve) => setTimeout(resolve, Number(req.get('x-delay-ms') ?? 0)));
        res.json({ id: req.valid.params.id });
      },
    }),
  ];
}

export interface TestApp {
  runtime: Runtime;
  server: Server;
  url: string;
  logs: LogCapture;
  close(): Promise<void>;
}

/** Starts a listener with the sample routes on a free port, with its own runtime. */
export async function startTestApp(env: NodeJS.ProcessEnv = baseTestEnv('http')): Promise<TestApp> {
  const config = loadConfig<BaseConfig>(baseEnvSchema, {
    API_KEYS: [apiKeyEntry('reader', READ_KEY, ['read']), apiKeyEntry('writer', WRITE_KEY, ['write'])].join(','),
    ...env,
    LOG_LEVEL: 'info',
  }, ['AUTH_JWT_SECRET', 'API_KEYS']);
  const logs = new LogCapture();
  const runtime = new Runtime({ service: 'http-test', config, secrets: ['AUTH_JWT_SECRET', 'API_KEYS'], logStream: logs.stream, exit: () => undefined });
  const server = await runtime.listen('api', runtime.createApp('api', sampleRoutes()), 0);
  runtime.closeRedisLast();
  return {
    runtime,
    server,
    url: `http://127.0.0.1:${runtime.ports.api}`,
    logs,
    close: () => runtime.shutdown.run('test'),
  };
}
