import { randomBytes } from 'node:crypto';
import { basename, isAbsolute, relative, resolve, sep } from 'node:path';
import { rm, stat } from 'node:fs/promises';

import { hasScope, verifyServiceToken } from '@castplane/auth';
import type { VerifyResult } from '@castplane/auth';
import type { Logger } from '@castplane/logging';

import type { TakeoverPolicy } from '../config';
import type { MediaBackend } from '../media/media-backend';
import type { SrsHookBody } from '../schemas/hook.schemas';
import { parseParam, publishKeyFromParam, secretsEqual, verifyPlaybackToken } from './credentials';
import type { StreamEvents } from './stream-events';
import type { StreamRecord, StreamStore } from './stream.store';

export interface HookDecision {
  allow: boolean;
  /** Deny reason of a start hook, or the outcome of an end hook. It never contains a secret. */
  reason: string;
  streamId?: string;
}

export interface HookServiceDeps {
  store: StreamStore;
  events: StreamEvents;
  media: () => MediaBackend;
  logger: Logger;
  settings: { takeover: TakeoverPolicy };
  /** Set in embedded mode, where every recording lives under DVR_ROOT: on_dvr files must lie inside it. */
  dvrRoot?: string;
  /** DVR_ROOT in both modes: recordings of streams without DVR are deleted only under it. */
  recordingsRoot: string;
  /** Secret and issuer of the service tokens (AUTH_JWT_SECRET, AUTH_JWT_ISSUER) that may play signed streams. */
  serviceTokens: { secret: string; issuer: string };
  now?: () => number;
}

/** Identifies the stream of a callback by `stream_url`, which drops the vhost and any suffix. */
export function streamPathOf(body: Pick<SrsHookBody, 'app' | 'stream' | 'stream_url'>): { app: string; name: string } {
  const parts = (body.stream_url ?? '').split('/').filter(Boolean);
  if (parts.length >= 2) return { app: parts[parts.length - 2], name: parts[parts.length - 1] };
  return { app: body.app, name: body.stream.replace(/\.(m3u8|flv)$/, '') };
}

// Deny reasons of a play with a service token, by the verification failure.
const SERVICE_TOKEN_DENIALS: Record<Extract<VerifyResult, { ok: false }>['reason'], string> = {
  expired: 'expired_service_token',
  invalid_signature: 'invalid_service_token_signature',
  invalid_claims: 'invalid_service_token_claims',
  malformed: 'malformed_service_token',
};

/** SRS does not send the protocol; it follows from the stream suffix and the synthesised tcUrl. */
function playProtocol(body: SrsHookBody): string {
  if (body.protocol) return body.protocol;
  if (body.stream.endsWith('.m3u8')) return 'hls';
  if (/^rtmp:\/\/__defaultVhost__\//.test(body.tcUrl ?? '') || (body.tcUrl ?? '').startsWith('http')) return 'flv';
  return 'rtmp';
}

/**
 * The decisions behind SRS's callbacks, shared by the embedded ingest: who may publish and play,
 * publisher and viewer tracking by client id, reconnect windows, and the stream events.
 */
export class HookService {
  private readonly now: () => number;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly deps: HookServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  async onPublish(body: SrsHookBody): Promise<HookDecision> {
    const stream = await this.lookup(body);
    const denial = this.publishDenial(stream, body);
    if (denial || !stream) return this.deny(body, denial ?? 'unknown_stream', stream);

    const force = this.deps.settings.takeover === 'kick';
    const sessionId = randomBytes(8).toString('hex');
    const claim = await this.deps.store.claim(stream.id, body.client_id, body.ip ?? '', this.now(), force, sessionId, body.stream_id ?? '');
    if (claim.outcome === 'busy') return this.deny(body, 'stream_busy', stream);
    if (claim.outcome === 'missing') return this.deny(body, 'unknown_stream', stream);
    if (claim.outcome === 'duplicate') return { allow: true, reason: 'duplicate', streamId: stream.id };

    if (claim.previous && claim.previous !== body.client_id && force) {
      this.deps.logger.info('publisher taken over', { streamId: stream.id, clientId: claim.previous });
      this.deps.media().kickClient(claim.previous).catch(() => undefined);
    }
    const data = { streamId: stream.id, app: stream.app, name: stream.name, clientId: body.client_id, sessionId: claim.sessionId };
    if (claim.outcome === 'published') {
      this.deps.events.emit('stream.published', data, `${stream.id}.${claim.sessionId}.published`);
    } else {
      this.deps.events.emit('stream.reconnected', data, `${stream.id}.${claim.sessionId}.reconnected.${body.client_id}`);
    }
    this.deps.logger.info('publish allowed', { streamId: stream.id, clientId: body.client_id, outcome: claim.outcome });
    this.deps.media().onLive(stream, claim.sessionId);
    return { allow: true, reason: claim.outcome, streamId: stream.id };
  }

  async onUnpublish(body: SrsHookBody): Promise<HookDecision> {
    const stream = await this.lookup(body);
    if (!stream) return { allow: true, reason: 'unknown_stream' };
    const release = await this.deps.store.release(stream.id, body.client_id, this.now());
    if (release.outcome === 'ended') await this.ended(stream, release.sessionId, 'unpublished');
    if (release.outcome === 'reconnecting') this.scheduleExpiry(stream);
    return { allow: true, reason: release.outcome, streamId: stream.id };
  }

  async onPlay(body: SrsHookBody): Promise<HookDecision> {
    const stream = await this.lookup(body);
    if (!stream) return this.deny(body, 'unknown_stream');
    if (stream.playback === 'signed') {
      const denial = await this.signedPlayDenial(stream, parseParam(body.param).get('token') ?? undefined, { clientId: body.client_id });
      if (denial) return this.deny(body, denial, stream);
    }
    await this.deps.store.addViewer(stream.id, body.client_id, playProtocol(body));
    return { allow: true, reason: 'allowed', streamId: stream.id };
  }

  async onStop(body: SrsHookBody): Promise<HookDecision> {
    const stream = await this.lookup(body);
    if (stream) await this.deps.store.removeViewer(stream.id, body.client_id);
    return { allow: true, reason: 'stopped', streamId: stream?.id };
  }

  async onDvr(body: SrsHookBody): Promise<HookDecision> {
    const stream = await this.lookup(body);
    if (body.file && !this.recordingPathAllowed(body.file)) return this.deny(body, 'invalid_recording_path', stream);
    if (!stream || !body.file) return { allow: true, reason: 'ignored' };
    if (!stream.dvr) return this.discardRecording(stream, body.file);
    await this.recordingReady(stream, body.file, body.duration);
    return { allow: true, reason: 'recorded', streamId: stream.id };
  }

  /** Indexes a finished recording and announces it. */
  async recordingReady(stream: StreamRecord, file: string, durationSeconds?: number): Promise<void> {
    const bytes = await stat(file).then((info) => info.size, () => 0);
    await this.deps.store.addRecording(stream.id, { file, bytes, durationSeconds, createdAt: new Date(this.now()).toISOString() });
    const data = { streamId: stream.id, app: stream.app, name: stream.name, file, durationSeconds };
    this.deps.events.emit('stream.dvr_ready', data, `${stream.id}.dvr.${basename(file)}`);
  }

  /** Ends a publish now (explicit unpublish or delete); returns the kicked publisher's id. */
  async endNow(stream: StreamRecord, reason: string, publishEnabled?: boolean): Promise<string> {
    const result = await this.deps.store.end(stream.id, this.now(), 'now', publishEnabled);
    if (result.outcome === 'ended') await this.ended(stream, result.sessionId, reason);
    return result.publisherClientId;
  }

  /** Ends every stream whose reconnect window has passed; returns how many ended. */
  async expireReconnects(): Promise<number> {
    const ids = await this.deps.store.dueReconnects(this.now());
    let count = 0;
    for (const id of ids) {
      const result = await this.deps.store.end(id, this.now(), 'expire');
      const stream = result.outcome === 'ended' ? await this.deps.store.get(id) : undefined;
      if (stream) {
        await this.ended(stream, result.sessionId, 'reconnect_window_expired');
        count += 1;
      }
    }
    return count;
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private async ended(stream: StreamRecord, sessionId: string, reason: string): Promise<void> {
    const data = { streamId: stream.id, app: stream.app, name: stream.name, sessionId, reason };
    this.deps.events.emit('stream.ended', data, `${stream.id}.${sessionId}.ended`);
    this.deps.logger.info('stream ended', { streamId: stream.id, reason });
    await this.deps.media().onEnded(stream);
  }

  private scheduleExpiry(stream: StreamRecord): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.expireReconnects().catch((error: Error) => this.deps.logger.warn('reconnect expiry failed', { err: error.message }));
    }, stream.reconnectWindowSeconds * 1000 + 50);
    timer.unref();
    this.timers.add(timer);
  }

  /** Refuses a path with a `..` segment and, in embedded mode, any path outside DVR_ROOT. */
  private recordingPathAllowed(file: string): boolean {
    if (file.split(/[\\/]/).includes('..')) return false;
    return this.deps.dvrRoot === undefined || isInside(this.deps.dvrRoot, file);
  }

  /**
   * Handles a recording of a stream whose `dvr` flag is off. SRS records every stream, so the file
   * is deleted when it lies under DVR_ROOT (the shared volume) and is never indexed.
   */
  private async discardRecording(stream: StreamRecord, file: string): Promise<HookDecision> {
    if (isInside(this.deps.recordingsRoot, file)) {
      await rm(file, { force: true });
      this.deps.logger.info('recording discarded: DVR is off for the stream', { streamId: stream.id, file: basename(file) });
    } else {
      this.deps.logger.warn('recording not indexed and left in place: DVR is off and the file is outside DVR_ROOT', { streamId: stream.id, file });
    }
    return { allow: true, reason: 'discarded', streamId: stream.id };
  }

  private lookup(body: SrsHookBody): Promise<StreamRecord | undefined> {
    const { app, name } = streamPathOf(body);
    return this.deps.store.findByName(app, name);
  }

  private publishDenial(stream: StreamRecord | undefined, body: SrsHookBody): string | undefined {
    if (!stream) return 'unknown_stream';
    if (!stream.publishEnabled) return 'publish_disabled';
    const key = publishKeyFromParam(body.param);
    if (!key) return 'missing_key';
    return secretsEqual(key, stream.key) ? undefined : 'wrong_key';
  }

  /**
   * Checks the `token` parameter of a play of a signed stream. A JWT (three dot-separated parts) is
   * a service token and needs the `read` scope. Anything else must be the stream's playback token.
   * Returns the deny reason, or undefined when the play is allowed. An allowed service token is
   * logged unless `logAllowed` is false (HLS segments are checked once per segment).
   */
  async signedPlayDenial(
    stream: StreamRecord,
    token: string | undefined,
    { clientId, logAllowed = true }: { clientId?: string; logAllowed?: boolean } = {},
  ): Promise<string | undefined> {
    if (!token) return 'missing_playback_token';
    if (token.split('.').length !== 3) {
      const valid = verifyPlaybackToken(stream.id, stream.playbackSecret, token, Math.floor(this.now() / 1000));
      return valid ? undefined : 'invalid_playback_token';
    }
    const result = await verifyServiceToken(token, this.deps.serviceTokens);
    if (!result.ok) return SERVICE_TOKEN_DENIALS[result.reason];
    if (!hasScope(result.scopes, 'read')) return 'insufficient_service_token_scope';
    if (logAllowed) this.deps.logger.info('play allowed with a service token', { streamId: stream.id, clientId, subject: result.sub });
    return undefined;
  }

  private deny(body: SrsHookBody, reason: string, stream?: StreamRecord): HookDecision {
    const { app, name } = streamPathOf(body);
    this.deps.logger.info(`${body.action} denied`, { hook: body.action, app, stream: name, streamId: stream?.id, clientId: body.client_id, ip: body.ip, reason });
    return { allow: false, reason, streamId: stream?.id };
  }
}

/** Reports whether `file` lies strictly inside `root`. */
function isInside(root: string, file: string): boolean {
  const inside = relative(resolve(root), resolve(file));
  return inside !== '' && !isAbsolute(inside) && inside.split(sep)[0] !== '..';
}
