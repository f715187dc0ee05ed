import Joi from 'joi';

/** Client ids as configured in `SDK_CLIENTS`. */
export const clientId = Joi.string().pattern(/^[A-Za-z0-9._-]{1,64}$/);
/** LiveKit room names used here: they appear in URL paths, so only URL-safe characters. */
export const roomName = Joi.string().pattern(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/);
/** Participant identities (the JWT `sub` LiveKit reads). */
export const identity = Joi.string().pattern(/^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$/);
export const streamId = Joi.string().pattern(/^bc_[0-9a-f]{16}$/);
export const tokenId = Joi.string().pattern(/^tok_[0-9a-f-]{36}$/);
const metadataString = Joi.string().max(64 * 1024).allow('');
const ttlSeconds = Joi.number().integer().min(10).max(86400);

export const roomSettings = Joi.object({
  emptyTimeout: Joi.number().integer().min(0).max(86400),
  departureTimeout: Joi.number().integer().min(0).max(86400),
  maxParticipants: Joi.number().integer().min(0).max(100000),
});

export const loginBody = Joi.object({
  clientId: clientId.required(),
  clientSecret: Joi.string().min(1).max(512).required(),
});

const refreshToken = Joi.string().pattern(/^[A-Za-z0-9_-]{20,128}$/);

export const refreshBody = Joi.object({ refreshToken: refreshToken.required() });

export const logoutBody = Joi.object({ refreshToken }).default({});

const streamMetadata = Joi.object().pattern(Joi.string().max(64), Joi.string().max(1024).allow('')).max(32);

export const createStreamBody = Joi.object({
  title: Joi.string().trim().min(1).max(200).required(),
  hostIdentity: identity.required(),
  roomName,
  roomSettings,
  metadata: streamMetadata,
  requestId: Joi.string().min(1).max(128),
});

export const updateStreamBody = Joi.object({
  title: Joi.string().trim().min(1).max(200),
  hostIdentity: identity,
  roomSettings,
  metadata: streamMetadata,
}).min(1);

export const streamParams = Joi.object({ streamId: streamId.required() });

export const createRoomBody = Joi.object({
  name: roomName.required(),
  emptyTimeout: Joi.number().integer().min(0).max(86400),
  departureTimeout: Joi.number().integer().min(0).max(86400),
  maxParticipants: Joi.number().integer().min(0).max(100000),
  metadata: metadataString,
});

export const roomParams = Joi.object({ roomId: roomName.required() });

export const joinBody = Joi.object({
  identity,
  name: Joi.string().max(128),
  metadata: metadataString,
  canPublish: Joi.boolean(),
  canPublishData: Joi.boolean(),
  ttlSeconds,
}).default({});

export const leaveBody = Joi.object({ identity: identity.required() });

export const grants = Joi.object({
  roomJoin: Joi.boolean().default(true),
  canPublish: Joi.boolean().default(true),
  canSubscribe: Joi.boolean().default(true),
  canPublishData: Joi.boolean().default(true),
  canUpdateOwnMetadata: Joi.boolean(),
  roomAdmin: Joi.boolean(),
  hidden: Joi.boolean(),
  canPublishSources: Joi.array()
    .items(Joi.string().valid('camera', 'microphone', 'screen_share', 'screen_share_audio'))
    .unique(),
}).default();

export const generateTokenBody = Joi.object({
  identity: identity.required(),
  roomName: roomName.required(),
  name: Joi.string().max(128),
  metadata: metadataString,
  ttlSeconds,
  grants,
});

export const validateTokenBody = Joi.object({ token: Joi.string().min(10).max(8192).required() });

export const tokenParams = Joi.object({ tokenId: tokenId.required() });

export const configBody = Joi.object({
  livekitUrl: Joi.string().uri({ scheme: ['http', 'https', 'ws', 'wss'] }),
  apiKey: Joi.string().min(3).max(256),
  apiSecret: Joi.string().min(8).max(1024),
  defaultTokenTtlSeconds: ttlSeconds,
  defaultRoom: roomSettings,
  webhook: Joi.object({
    clockToleranceSeconds: Joi.number().integer().min(0).max(600),
    acceptedEvents: Joi.array()
      .items(
        Joi.string().valid(
          'room_started',
          'room_finished',
          'participant_joined',
          'participant_left',
          'participant_connection_aborted',
          'track_published',
          'track_unpublished',
          'egress_started',
          'egress_updated',
          'egress_ended',
          'ingress_started',
          'ingress_ended',
        ),
      )
      .unique(),
  }),
})
  .min(1)
  .and('apiKey', 'apiSecret');

export const analyticsQuery = Joi.object({
  from: Joi.date().iso(),
  to: Joi.date().iso(),
  roomName,
  bucketSeconds: Joi.number().integer().min(1).max(86400).default(60),
  limit: Joi.number().integer().min(1).max(1000).default(200),
});

const statsSample = Joi.object({
  roomName: roomName.required(),
  identity: identity.required(),
  timestamp: Joi.date().iso(),
  bytesSent: Joi.number().integer().min(0).max(Number.MAX_SAFE_INTEGER).required(),
  bytesReceived: Joi.number().integer().min(0).max(Number.MAX_SAFE_INTEGER).required(),
  bitrateKbps: Joi.number().min(0).max(10_000_000),
  packetLossPercent: Joi.number().min(0).max(100),
  jitterMs: Joi.number().min(0).max(600_000),
  rttMs: Joi.number().min(0).max(600_000),
  quality: Joi.string().valid('excellent', 'good', 'poor', 'lost'),
});

export const statsBody = Joi.object({ samples: Joi.array().items(statsSample).min(1).max(100).required() });
