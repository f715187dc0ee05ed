import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { join } from 'node:path';

/** Replies and hook bodies captured from a real SRS, kept with the tests. */
export const REFERENCE_DIR = join(__dirname, 'fixtures/srs');

interface Capture {
  request: { method: string; path: string; query: string };
  response: { status: number; headers: Record<string, string>; body_raw?: string; body?: unknown };
}

export function readReference<T>(relative: string): T {
  return JSON.parse(readFileSync(join(REFERENCE_DIR, relative), 'utf8')) as T;
}

function capture(name: string): Capture {
  return readReference<Capture>(`api/${name}.json`);
}

function bodyOf(item: Capture): string {
  return item.response.body_raw ?? JSON.stringify(item.response.body);
}

/**
 * A stand-in for SRS's HTTP API that replies only with captured responses, because SRS cannot run
 * here. Lists come from the capture chosen by `streams`/`clients`. A DELETE of a client in the
 * chosen list gets the captured success envelope, and any other client the captured 2049.
 */
export class SrsApiDouble {
  streams = 'streams';
  clients = 'clients';
  readonly calls: string[] = [];
  private server?: Server;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      this.calls.push(`${req.method} ${url.pathname}`);
      const item = this.route(req.method ?? 'GET', url.pathname);
      res.writeHead(item.response.status, { 'Content-Type': item.response.headers['Content-Type'] ?? 'application/json', Connection: 'close' });
      res.end(bodyOf(item));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', () => resolve()));
    const address = this.server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private route(method: string, path: string): Capture {
    if (method === 'GET' && path === '/api/v1/versions') return capture('versions');
    if (method === 'GET' && path === '/api/v1/summaries') return capture('summaries');
    if (method === 'GET' && path === '/api/v1/streams/') return capture(this.streams);
    if (method === 'GET' && path === '/api/v1/clients/') return capture(this.clients);
    if (method === 'GET' && path.startsWith('/api/v1/streams/')) {
      const byId = capture('stream-by-id');
      return byId.request.path === path && this.streams === 'streams' ? byId : capture('stream-not-found');
    }
    if (method === 'DELETE' && path.startsWith('/api/v1/clients/')) {
      const id = path.split('/').pop();
      const list = (capture(this.clients).response.body as { clients: { id: string; publish: boolean }[] }).clients;
      const client = list.find((item) => item.id === id);
      if (!client) return capture('delete-client-not-found');
      return capture(client.publish ? 'delete-client-publisher' : 'delete-client-rtmp-player');
    }
    if (method === 'POST' && path === '/api/v1/streams/') return capture('streams-post-method-not-allowed');
    return capture('api-v1-unknown-path');
  }
}
