import { signServiceToken } from '@castplane/auth';
import { REDACTED, redactText } from '@castplane/logging';

/**
 * Lifetime of the service token added to a media-server source, in seconds. The media server checks
 * the token only when a play starts, so it needs to outlive one probe and one connect, not the job.
 */
export const SOURCE_TOKEN_TTL_SECONDS = 300;

export interface SourceTokenOptions {
  /** Base URL of the media server's live streams (MEDIA_RTMP_URL). */
  mediaRtmpUrl: string;
  /** Signing secret and issuer (AUTH_JWT_SECRET, AUTH_JWT_ISSUER): the values the srs-adapter verifies with. */
  secret: string;
  issuer: string;
}

/** A source URL ready to open, and the token added to it (undefined when none was added). */
export interface AuthorizedSource {
  url: string;
  token?: string;
}

/** Reports whether `source` is a live stream under MEDIA_RTMP_URL, the only URL that gets a service token. */
export function isMediaServerSource(source: string, mediaRtmpUrl: string): boolean {
  // The slash after the base fixes the host and port, so the token never goes to another server.
  const base = `${mediaRtmpUrl.replace(/\/+$/, '')}/`;
  return source.toLowerCase().startsWith(base.toLowerCase()) && source.length > base.length;
}

/**
 * Appends `token=<token>` to the query of `url`, after any existing parameters. A URL that already
 * has a `token` parameter is returned unchanged, so a token the operator configured is kept.
 */
export function appendTokenParam(url: string, token: string): string {
  const hashAt = url.indexOf('#');
  const beforeHash = hashAt >= 0 ? url.slice(0, hashAt) : url;
  const hash = hashAt >= 0 ? url.slice(hashAt) : '';
  const queryAt = beforeHash.indexOf('?');
  if (queryAt >= 0 && new URLSearchParams(beforeHash.slice(queryAt + 1)).has('token')) return url;
  const separator = queryAt < 0 ? '?' : beforeHash.endsWith('?') || beforeHash.endsWith('&') ? '' : '&';
  return `${beforeHash}${separator}token=${encodeURIComponent(token)}${hash}`;
}

/**
 * Adds a newly signed service token (`sub` `encoder`, scope `read`) to a media-server source, so
 * the media server allows the play of a signed stream. Other sources, and sources that already
 * have a `token` parameter, come back unchanged and without a token.
 */
export async function authorizeSource(source: string, options: SourceTokenOptions): Promise<AuthorizedSource> {
  if (!isMediaServerSource(source, options.mediaRtmpUrl)) return { url: source };
  const token = await signServiceToken(
    { sub: 'encoder', scope: ['read'] },
    { secret: options.secret, issuer: options.issuer, ttlSeconds: SOURCE_TOKEN_TTL_SECONDS },
  );
  const url = appendTokenParam(source, token);
  return url === source ? { url } : { url, token };
}

/**
 * Removes credentials from text that may quote the source URL (ffmpeg and ffprobe output, error
 * messages): the shared patterns, then every copy of the token that was added to the source.
 */
export function redactSourceText(text: string, source: AuthorizedSource): string {
  const redacted = redactText(text);
  return source.token ? redacted.split(source.token).join(REDACTED) : redacted;
}
