import axios from 'axios';
import type { AxiosInstance } from 'axios';

import { AppError } from '@castplane/errors';

/** SRS's stream object from `/api/v1/streams/`. */
export interface SrsStream {
  id: string;
  name: string;
  app: string;
  url: string;
  clients: number;
  send_bytes: number;
  recv_bytes: number;
  kbps: { recv_30s: number; send_30s: number };
  publish: { active: boolean; cid?: string };
  video: { codec: string; width: number; height: number } | null;
  audio: { codec: string; sample_rate: number; channel: number } | null;
}

/** SRS's client object from `/api/v1/clients/`. */
export interface SrsClient {
  id: string;
  stream: string;
  ip: string;
  type: string;
  publish: boolean;
  alive: number;
}

/** SRS error codes that mean "not found"; SRS sends them with HTTP 200. */
export const SRS_STREAM_NOT_FOUND = 2048;
export const SRS_CLIENT_NOT_FOUND = 2049;

const PAGE = 100;
const MAX_PAGES = 50;

/**
 * Client of SRS's HTTP API (v5/v6/v7). Every reply's `code` is checked, because SRS returns
 * errors with HTTP 200 and reports "not found" as code 2048 (stream) or 2049 (client).
 */
export class SrsApiClient {
  private readonly http: AxiosInstance;

  constructor(baseUrl: string, timeoutMs: number) {
    this.http = axios.create({ baseURL: baseUrl.replace(/\/$/, ''), timeout: timeoutMs, validateStatus: () => true });
  }

  async versions(): Promise<{ version: string }> {
    return (await this.call<{ data: { version: string } }>('get', '/api/v1/versions')).data;
  }

  async summaries(): Promise<Record<string, unknown>> {
    return (await this.call<{ data: Record<string, unknown> }>('get', '/api/v1/summaries')).data;
  }

  async stream(id: string): Promise<SrsStream | undefined> {
    const reply = await this.call<{ stream: SrsStream }>('get', `/api/v1/streams/${encodeURIComponent(id)}`, [SRS_STREAM_NOT_FOUND]);
    return reply.code === SRS_STREAM_NOT_FOUND ? undefined : reply.stream;
  }

  /** Every stream, paging with `start`/`count` because SRS returns no total. */
  async streams(): Promise<SrsStream[]> {
    return this.pages<SrsStream>('/api/v1/streams/', 'streams');
  }

  async clients(): Promise<SrsClient[]> {
    return this.pages<SrsClient>('/api/v1/clients/', 'clients');
  }

  /** Kicks a client; resolves false when SRS does not know it (code 2049). */
  async kick(clientId: string): Promise<boolean> {
    const reply = await this.call('delete', `/api/v1/clients/${encodeURIComponent(clientId)}`, [SRS_CLIENT_NOT_FOUND]);
    return reply.code === 0;
  }

  private async pages<T>(path: string, field: string): Promise<T[]> {
    const items: T[] = [];
    for (let page = 0; page < MAX_PAGES; page += 1) {
      const reply = await this.call<Record<string, T[]>>('get', path, [], { start: page * PAGE, count: PAGE });
      const batch = reply[field] ?? [];
      items.push(...batch);
      if (batch.length < PAGE) break;
    }
    return items;
  }

  private async call<T>(method: 'get' | 'delete', path: string, allowed: number[] = [], params?: object): Promise<T & { code: number }> {
    let response;
    try {
      response = await this.http.request({ method, url: path, params });
    } catch (error) {
      throw new AppError('unavailable', `SRS API ${method.toUpperCase()} ${path} failed: ${(error as Error).message}`);
    }
    const body = response.data as (T & { code?: unknown }) | undefined;
    if (response.status !== 200 || typeof body !== 'object' || body === null || typeof body.code !== 'number') {
      throw new AppError('unavailable', `SRS API ${method.toUpperCase()} ${path} failed with HTTP ${response.status}`);
    }
    if (body.code !== 0 && !allowed.includes(body.code)) {
      throw new AppError('unavailable', `SRS API ${method.toUpperCase()} ${path} failed with SRS error code ${body.code}`);
    }
    return body as T & { code: number };
  }
}
