import Joi from 'joi';

const identity = Joi.string().min(1).max(128);
const trackSid = Joi.string().pattern(/^TR_[A-Za-z0-9]{1,32}$/);

/** An SDP offer or answer, as relayed over the socket and over HTTP. */
export const sdpSchema = Joi.string().max(200000).required();

/** An RTCIceCandidate in its JSON form, as relayed over the socket and over HTTP. */
export const iceCandidateSchema = Joi.object({
  candidate: Joi.string().allow('').max(4096).required(),
  sdpMid: Joi.string().allow(null, '').max(64),
  sdpMLineIndex: Joi.number().integer().min(0).max(1024).allow(null),
  usernameFragment: Joi.string().allow(null, '').max(256),
}).required();

/** Client-to-server messages over `/signal/{room}`, each keyed by `type`. */
export const CLIENT_MESSAGES: Record<string, Joi.ObjectSchema> = {
  join: Joi.object({ type: Joi.string().required() }),
  offer: Joi.object({ type: Joi.string().required(), to: identity.required(), sdp: sdpSchema }),
  answer: Joi.object({ type: Joi.string().required(), to: identity.required(), sdp: sdpSchema }),
  'ice-candidate': Joi.object({ type: Joi.string().required(), to: identity.required(), candidate: iceCandidateSchema }),
  'track-publish': Joi.object({
    type: Joi.string().required(),
    kind: Joi.string().valid('audio', 'video', 'data').required(),
    name: Joi.string().max(256).allow('').default(''),
    source: Joi.string().valid('unknown', 'camera', 'microphone', 'screen_share', 'screen_share_audio').default('unknown'),
    muted: Joi.boolean().default(false),
    width: Joi.number().integer().min(0).max(16384).default(0),
    height: Joi.number().integer().min(0).max(16384).default(0),
    mimeType: Joi.string().max(128).allow('').default(''),
  }),
  'track-unpublish': Joi.object({ type: Joi.string().required(), trackSid: trackSid.required() }),
  mute: Joi.object({ type: Joi.string().required(), trackSid: trackSid.required(), muted: Joi.boolean().required() }),
  'client-stats': Joi.object({
    type: Joi.string().required(),
    bitrateKbps: Joi.number().min(0).max(1e7),
    packetLoss: Joi.number().min(0).max(100),
    rttMs: Joi.number().min(0).max(600000),
    jitterMs: Joi.number().min(0).max(600000),
  }),
  ping: Joi.object({ type: Joi.string().required(), id: Joi.alternatives(Joi.string().max(64), Joi.number()) }),
  leave: Joi.object({ type: Joi.string().required() }),
};

export type ClientMessage = { type: string } & Record<string, unknown>;

const RELAY_KEYS: Record<string, string[]> = {
  offer: ['type', 'to', 'sdp'],
  answer: ['type', 'to', 'sdp'],
  'ice-candidate': ['type', 'to', 'candidate'],
};
const CANDIDATE_KEYS = ['candidate', 'sdpMid', 'sdpMLineIndex', 'usernameFragment'];

function onlyKeys(value: Record<string, unknown>, allowed: string[]): boolean {
  for (const key in value) if (!allowed.includes(key)) return false;
  return true;
}

function optionalString(value: unknown, max: number): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.length <= max);
}

function validCandidate(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const candidate = value as Record<string, unknown>;
  const index = candidate.sdpMLineIndex;
  return (
    onlyKeys(candidate, CANDIDATE_KEYS) &&
    typeof candidate.candidate === 'string' &&
    candidate.candidate.length <= 4096 &&
    optionalString(candidate.sdpMid, 64) &&
    optionalString(candidate.usernameFragment, 256) &&
    (index === undefined || index === null || (Number.isInteger(index) && (index as number) >= 0 && (index as number) <= 1024))
  );
}

/**
 * Checks the relayed types (most of the traffic) by hand with the same rules as their joi
 * schemas, which cost about ten times the JSON parse. A message that fails here goes through joi,
 * which accepts or rejects it with the detailed error.
 */
function isValidRelay(message: Record<string, unknown>): boolean {
  const keys = RELAY_KEYS[message.type as string];
  if (!keys || !onlyKeys(message, keys)) return false;
  const to = message.to;
  if (typeof to !== 'string' || to.length < 1 || to.length > 128) return false;
  if (message.type === 'ice-candidate') return validCandidate(message.candidate);
  return typeof message.sdp === 'string' && message.sdp.length > 0 && message.sdp.length <= 200000;
}

/** Parses and validates one message; returns an error description instead of throwing. */
export function parseClientMessage(
  raw: string,
): { message: ClientMessage } | { error: { code: string; message: string; field?: string; requestType: string } } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { error: { code: 'malformed', message: 'the message is not valid JSON', requestType: 'unknown' } };
  }
  if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { type?: unknown }).type !== 'string') {
    return {
      error: { code: 'malformed', message: 'the message must be a JSON object with a string "type"', field: 'type', requestType: 'unknown' },
    };
  }
  if (isValidRelay(parsed as Record<string, unknown>)) return { message: parsed as ClientMessage };
  const type = (parsed as { type: string }).type;
  const schema = CLIENT_MESSAGES[type];
  if (!schema) {
    return {
      error: { code: 'invalid_argument', message: `unknown message type "${type.slice(0, 64)}"`, field: 'type', requestType: 'unknown' },
    };
  }
  const { error, value } = schema.validate(parsed, { abortEarly: true, errors: { wrap: { label: false } } });
  if (error) {
    const detail = error.details[0];
    return { error: { code: 'invalid_argument', message: `${type}: ${detail.message}`, field: detail.path.join('.'), requestType: type } };
  }
  return { message: value as ClientMessage };
}
