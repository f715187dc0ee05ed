/** Text that replaces a removed secret in logs. */
export const REDACTED = '[redacted]';

// Keys whose values are secrets wherever they appear in a log entry, compared case-insensitively
// with `-` and `_` removed. `key` alone matches stream keys and API keys.
const SECRET_KEYS = new Set([
  'authorization',
  'xapikey',
  'apikey',
  'apisecret',
  'secret',
  'password',
  'token',
  'accesstoken',
  'refreshtoken',
  'jwt',
  'key',
  'streamkey',
  'param',
  'cookie',
  'setcookie',
  'clientsecret',
  'signature',
]);

const SECRET_SUFFIXES = ['secret', 'token', 'password', 'apikey', 'streamkey'];

// Query parameters that carry credentials in URLs (RTMP publish URLs, SRS `param`, signed playback).
const SECRET_QUERY = /([?&](?:key|token|access_token|secret|sign|signature|auth|password|api_key|apikey|streamkey|stream_key)=)[^&\s"']*/gi;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g;
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g;
// rtmp://host/app/<stream key> style URLs and user:password@ credentials.
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+:[^/\s@]+@/gi;

// Every text that one of the four patterns above can match contains one of these substrings, so
// a text without any of them is returned unchanged after one scan instead of four.
const MAY_CARRY_CREDENTIALS = /=|Bearer|Basic|eyJ|:\/\//;

function normalise(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
}

// Field names seen in log entries are mostly the same few dozen, so their verdicts are kept. The
// bound keeps entries with caller-chosen keys from growing the map without limit.
const secretKeyVerdicts = new Map<string, boolean>();
const MAX_CACHED_KEYS = 2000;

/** Reports whether a field name is one whose value is always secret. */
export function isSecretKey(key: string): boolean {
  const cached = secretKeyVerdicts.get(key);
  if (cached !== undefined) return cached;
  const name = normalise(key);
  const secret = SECRET_KEYS.has(name) || SECRET_SUFFIXES.some((suffix) => name.endsWith(suffix));
  if (secretKeyVerdicts.size < MAX_CACHED_KEYS) secretKeyVerdicts.set(key, secret);
  return secret;
}

/** Removes credentials from free text: query-string keys, bearer tokens, JWTs and URL passwords. */
export function redactText(text: string): string {
  if (!MAY_CARRY_CREDENTIALS.test(text)) return text;
  return text
    .replace(SECRET_QUERY, `$1${REDACTED}`)
    .replace(BEARER, `$1 ${REDACTED}`)
    .replace(JWT, REDACTED)
    .replace(URL_CREDENTIALS, `$1${REDACTED}@`);
}

/**
 * Returns a deep copy of `value` with secret fields replaced and credentials removed from every
 * string. Errors keep their name, message and stack (each redacted).
 */
export function redact(value: unknown, extraSecrets: readonly string[] = [], depth = 0): unknown {
  if (depth > 8) return '[truncated]';
  if (typeof value === 'string') return redactString(value, extraSecrets);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    return {
      name: value.name,
      message: redactString(value.message, extraSecrets),
      stack: value.stack ? redactString(value.stack, extraSecrets) : undefined,
      code: (value as { code?: unknown }).code,
    };
  }
  if (Array.isArray(value)) return value.map((item) => redact(item, extraSecrets, depth + 1));
  if (Buffer.isBuffer(value)) return `[buffer ${value.length} bytes]`;

  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    copy[key] = redactField(key, item, extraSecrets, depth + 1);
  }
  return copy;
}

/**
 * Returns the value of the field `key` as {@link redact} writes it in a copy of the object that
 * contains it, where `depth` is the depth of the value.
 */
export function redactField(key: string, value: unknown, extraSecrets: readonly string[] = [], depth = 1): unknown {
  const filled = value !== undefined && value !== null && value !== '';
  return isSecretKey(key) && filled ? REDACTED : redact(value, extraSecrets, depth);
}

function redactString(text: string, extraSecrets: readonly string[]): string {
  let result = redactText(text);
  for (const secret of extraSecrets) {
    if (secret.length >= 6 && result.includes(secret)) result = result.split(secret).join(REDACTED);
  }
  return result;
}
