import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import express from 'express';
import type { Express, NextFunction, Request, Response } from 'express';

import { AppError } from '@castplane/errors';
import { sendError } from '@castplane/http';
import type { Logger } from '@castplane/logging';

import { NAME_PATTERN } from '../schemas/stream.schemas';
import type { SrsHookBody } from '../schemas/hook.schemas';
import { parseParam } from '../services/credentials';
import type { HookService } from '../services/hook.service';
import type { StreamStore } from '../services/stream.store';
import type { EmbeddedBackend } from './embedded.backend';
import { liveHlsDir } from './embedded.backend';

interface HlsViewer {
  clientId: string;
  lastSeen: number;
  body: SrsHookBody;
}

export interface MediaHttpDeps {
  embedded: EmbeddedBackend;
  hooks: HookService;
  store: StreamStore;
  mediaRoot: string;
  logger: Logger;
  /** An HLS viewer that fetched nothing for this long counts as stopped. */
  hlsIdleMs: number;
}

function queryString(req: Request): string {
  const index = req.originalUrl.indexOf('?');
  return index >= 0 ? req.originalUrl.slice(index) : '';
}

/** Sends the error envelope for a rejected media request, as the API listeners do. */
function reject(req: Request, res: Response, status: 403 | 404, resource = 'stream'): void {
  const error = status === 404
    ? new AppError('not_found', `${resource} not found`)
    : new AppError('permission_denied', 'playback is not allowed: a valid playback token is required');
  sendError(error, req, res);
}

function validPath(app: string, name: string): boolean {
  return NAME_PATTERN.test(app) && NAME_PATTERN.test(name);
}

/**
 * The embedded playback listener: HTTP-FLV through node-media-server, HLS from the ffmpeg remux
 * (playlists and segments checked against the stream's playback policy), and MEDIA_ROOT under
 * `/media`. HLS viewers are sessions keyed by address and token, as SRS counts them.
 */
export class MediaHttp {
  private readonly hlsViewers = new Map<string, HlsViewer>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly deps: MediaHttpDeps) {
    this.sweeper = setInterval(() => void this.expireHlsViewers(Date.now()), 1000);
    this.sweeper.unref();
  }

  mount(app: Express): void {
    // Dot folders such as the live remux stay hidden; static errors keep their own status.
    app.use('/media', express.static(this.deps.mediaRoot, { dotfiles: 'ignore', index: false }), (req: Request, res: Response) => {
      reject(req, res, 404, 'file');
    });
    app.use('/media', (error: { status?: number }, req: Request, res: Response, _next: NextFunction) => {
      if (error.status === 404) return reject(req, res, 404, 'file');
      res.status(error.status && error.status < 500 ? error.status : 500).end();
    });
    app.get('/:app/:name.flv', (req, res) => void this.flv(req, res).catch((error: Error) => this.fail(res, error)));
    app.get('/:app/:name.m3u8', (req, res) => void this.playlist(req, res).catch((error: Error) => this.fail(res, error)));
    app.get('/:app/:segment.ts', (req, res) => void this.segment(req, res).catch((error: Error) => this.fail(res, error)));
  }

  private body(req: Request, action: string, protocol: 'flv' | 'hls', clientId: string): SrsHookBody {
    const { app, name } = req.params as Record<string, string>;
    return {
      action, client_id: clientId, ip: req.ip ?? '', vhost: '__defaultVhost__', app,
      stream: protocol === 'hls' ? `${name}.m3u8` : name, param: queryString(req), stream_url: `/${app}/${name}`,
      server_id: 'embedded', protocol,
    };
  }

  private async flv(req: Request, res: Response): Promise<void> {
    const { app, name } = req.params as Record<string, string>;
    if (!validPath(app, name)) return reject(req, res, 404);
    const body = this.body(req, 'on_play', 'flv', randomBytes(6).toString('hex'));
    const decision = await this.deps.hooks.onPlay(body);
    if (!decision.allow) return reject(req, res, decision.reason === 'unknown_stream' ? 404 : 403);
    res.on('close', () => void this.deps.hooks.onStop({ ...body, action: 'on_stop' }).catch(() => undefined));
    res.setHeader('Content-Type', 'video/x-flv');
    res.setHeader('Cache-Control', 'no-cache');
    this.deps.embedded.serveFlv(req, res);
  }

  private async playlist(req: Request, res: Response): Promise<void> {
    const { app, name } = req.params as Record<string, string>;
    if (!validPath(app, name)) return reject(req, res, 404);
    const token = parseParam(queryString(req)).get('token') ?? '';
    const viewerKey = `${req.ip}|${app}/${name}|${token}`;
    const known = this.hlsViewers.get(viewerKey);
    if (known) known.lastSeen = Date.now();
    else {
      const body = this.body(req, 'on_play', 'hls', randomBytes(6).toString('hex'));
      const decision = await this.deps.hooks.onPlay(body);
      if (!decision.allow) return reject(req, res, decision.reason === 'unknown_stream' ? 404 : 403);
      this.hlsViewers.set(viewerKey, { clientId: body.client_id, lastSeen: Date.now(), body });
    }
    const text = await readFile(join(liveHlsDir(this.deps.mediaRoot, app, name), `${name}.m3u8`), 'utf8').catch(() => undefined);
    if (text === undefined) return reject(req, res, 404, 'playlist');
    const suffix = token ? `?token=${encodeURIComponent(token)}` : '';
    res.setHeader('Content-Type', 'application/vnd.apple.mpegurl');
    res.setHeader('Cache-Control', 'no-cache');
    res.send(text.replace(/^([^#\n][^\n]*\.ts)$/gm, `$1${suffix}`));
  }

  private async segment(req: Request, res: Response): Promise<void> {
    const { app, segment } = req.params as Record<string, string>;
    const match = /^(.+)-(\d+)$/.exec(segment);
    if (!match || !validPath(app, match[1])) return reject(req, res, 404, 'segment');
    const stream = await this.deps.store.findByName(app, match[1]);
    if (!stream) return reject(req, res, 404);
    const token = parseParam(queryString(req)).get('token') ?? undefined;
    if (stream.playback === 'signed' && (await this.deps.hooks.signedPlayDenial(stream, token, { logAllowed: false }))) {
      return reject(req, res, 403);
    }
    res.sendFile(`${segment}.ts`, { root: liveHlsDir(this.deps.mediaRoot, app, match[1]), headers: { 'Content-Type': 'video/MP2T' } }, (error) => {
      if (error && !res.headersSent) reject(req, res, 404, 'segment');
    });
  }

  private async expireHlsViewers(now: number): Promise<void> {
    for (const [key, viewer] of this.hlsViewers) {
      if (now - viewer.lastSeen < this.deps.hlsIdleMs) continue;
      this.hlsViewers.delete(key);
      await this.deps.hooks.onStop({ ...viewer.body, action: 'on_stop' }).catch(() => undefined);
    }
  }

  private fail(res: Response, error: Error): void {
    this.deps.logger.error('media request failed', { err: error.message });
    if (!res.headersSent) res.status(500).end();
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}
