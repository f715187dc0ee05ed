import Joi from 'joi';

/** Room names as every API of this service accepts them: 1-128 letters, digits or `_.:@-`. */
export const ROOM_NAME_PATTERN = /^[A-Za-z0-9_.:@-]{1,128}$/;

export const roomName = Joi.string().pattern(ROOM_NAME_PATTERN).message('must be 1-128 letters, digits or _.:@-');
/** The same rule for Twirp requests, whose error message must name the field. */
export const twirpRoomName = Joi.string().pattern(ROOM_NAME_PATTERN).message('{{#label}} must be 1-128 letters, digits or _.:@-');
export const identity = Joi.string().min(1).max(128);
export const trackSid = Joi.string().pattern(/^TR_[A-Za-z0-9]{1,32}$/).message('must be a track sid (TR_...)');
export const egressId = Joi.string().pattern(/^EG_[A-Za-z0-9]{1,32}$/).message('must be a recording id (EG_...)');
export const metadata = Joi.string().allow('').max(64 * 1024);
export const linkedStream = Joi.object({
  app: Joi.string().pattern(/^[A-Za-z0-9_-]{1,64}$/).required(),
  name: Joi.string().pattern(/^[A-Za-z0-9_-]{1,128}$/).required(),
});

export const roomParams = Joi.object({ roomId: roomName.required() });
export const participantParams = Joi.object({ roomId: roomName.required(), participantId: identity.required() });
export const trackParams = Joi.object({ roomId: roomName.required(), trackId: trackSid.required() });

export const createRoomBody = Joi.object({
  name: roomName.required(),
  emptyTimeout: Joi.number().integer().min(1).max(7 * 86400),
  departureTimeout: Joi.number().integer().min(0).max(7 * 86400),
  maxParticipants: Joi.number().integer().min(0).max(100000),
  metadata,
  linkedStream,
});

export const videoGrants = Joi.object({
  roomJoin: Joi.boolean(),
  roomCreate: Joi.boolean(),
  roomList: Joi.boolean(),
  roomRecord: Joi.boolean(),
  roomAdmin: Joi.boolean(),
  canPublish: Joi.boolean(),
  canSubscribe: Joi.boolean(),
  canPublishData: Joi.boolean(),
  canPublishSources: Joi.array().items(Joi.string().valid('camera', 'microphone', 'screen_share', 'screen_share_audio')),
  canUpdateOwnMetadata: Joi.boolean(),
  hidden: Joi.boolean(),
});
