import Joi from 'joi';

import { twirpRoomName } from '../schemas/common.schemas';
import type { ParticipantService } from '../services/participant.service';
import type { RoomService } from '../services/room.service';
import { TWIRP_JSON, toParticipant, toRoom, toTrack } from './livekit-messages';
import { GRANTS } from './twirp.auth';
import { twirpError } from './twirp.errors';
import type { TwirpMethod } from './twirp.types';

// The real server's limit on room and participant metadata.
const MAX_METADATA_BYTES = 64 * 1024;

const room = twirpRoomName.required();
const identity = Joi.string().min(1).max(128).required();
const metadata = Joi.string().allow('').max(MAX_METADATA_BYTES);
const seconds = Joi.number().integer().min(0).max(7 * 86400);
const request = (keys: Record<string, Joi.Schema>) => Joi.object(keys).unknown(true);

function checkMetadata(value: unknown): void {
  if (typeof value === 'string' && Buffer.byteLength(value) > MAX_METADATA_BYTES) {
    throw twirpError('invalid_argument', 'metadata size exceeds limits', { argument: String(MAX_METADATA_BYTES) });
  }
}

/** Builds LiveKit's RoomService methods on this service's rooms and participants. */
export function roomServiceMethods(rooms: RoomService, participants: ParticipantService): Record<string, TwirpMethod> {
  const roomJson = async (name: string) => toRoom(await rooms.get(name), await rooms.participantsOf(name)).toJson(TWIRP_JSON);
  return {
    CreateRoom: {
      grant: GRANTS.roomCreate,
      schema: request({ name: twirpRoomName.required(), emptyTimeout: seconds, departureTimeout: seconds, maxParticipants: Joi.number().integer().min(0).max(100000), metadata }),
      run: async (body) => {
        checkMetadata(body.metadata);
        const { room: created } = await rooms.create(body, { upsert: true });
        return roomJson(created.name);
      },
    },
    ListRooms: {
      grant: GRANTS.roomList,
      schema: request({ names: Joi.array().items(twirpRoomName).max(1000) }),
      run: async (body) => {
        const listed = await rooms.list(body.names);
        return { rooms: listed.map((entry) => toRoom(entry.room, entry.participants).toJson(TWIRP_JSON)) };
      },
    },
    DeleteRoom: {
      grant: GRANTS.roomCreate,
      schema: request({ room }),
      run: async (body) => {
        await rooms.endOrThrow(body.room, 'deleted through the API');
        return {};
      },
    },
    UpdateRoomMetadata: {
      grant: GRANTS.roomAdmin,
      schema: request({ room, metadata: metadata.required() }),
      run: async (body) => {
        checkMetadata(body.metadata);
        await rooms.updateMetadata(body.room, body.metadata);
        return roomJson(body.room);
      },
    },
    ListParticipants: {
      grant: GRANTS.roomAdmin,
      schema: request({ room }),
      run: async (body) => {
        const list = await participants.list(body.room);
        return { participants: list.map((p) => toParticipant(p).toJson(TWIRP_JSON)) };
      },
    },
    GetParticipant: {
      grant: GRANTS.roomAdmin,
      schema: request({ room, identity }),
      run: async (body) => toParticipant(await participants.get(body.room, body.identity)).toJson(TWIRP_JSON),
    },
    RemoveParticipant: {
      grant: GRANTS.roomAdmin,
      schema: request({ room, identity }),
      run: async (body) => {
        await participants.remove(body.room, body.identity);
        return {};
      },
    },
    MutePublishedTrack: {
      grant: GRANTS.roomAdmin,
      schema: request({ room, identity, trackSid: Joi.string().min(1).max(64).required(), muted: Joi.boolean().default(false) }),
      run: async (body) => {
        const [track] = await participants.setMuted(body.room, body.identity, body.muted, body.trackSid);
        return { track: toTrack(track).toJson(TWIRP_JSON) };
      },
    },
    UpdateParticipant: {
      grant: GRANTS.roomAdmin,
      schema: request({
        room,
        identity,
        metadata,
        name: Joi.string().allow('').max(256),
        attributes: Joi.object().pattern(Joi.string().max(256), Joi.string().allow('').max(MAX_METADATA_BYTES)),
        permission: Joi.object({
          canSubscribe: Joi.boolean().default(false),
          canPublish: Joi.boolean().default(false),
          canPublishData: Joi.boolean().default(false),
          canPublishSources: Joi.array().items(Joi.string()).default([]),
          hidden: Joi.boolean().default(false),
          canUpdateMetadata: Joi.boolean().default(false),
        }).unknown(true),
      }),
      run: async (body) => {
        checkMetadata(body.metadata);
        const permission = body.permission
          ? { ...body.permission, canPublishSources: body.permission.canPublishSources.map((s: string) => s.toLowerCase()) }
          : undefined;
        const updated = await participants.update(body.room, body.identity, { ...body, permission });
        return toParticipant(updated).toJson(TWIRP_JSON);
      },
    },
    UpdateSubscriptions: {
      grant: GRANTS.roomAdmin,
      schema: request({ room, identity, trackSids: Joi.array().items(Joi.string()), subscribe: Joi.boolean() }),
      run: async (body) => {
        // NOTE: media flows peer to peer, so the server only checks the participant exists.
        await participants.get(body.room, body.identity);
        return {};
      },
    },
    SendData: {
      grant: GRANTS.roomAdmin,
      schema: request({
        room,
        data: Joi.string().base64().allow('').max(MAX_METADATA_BYTES * 2).required(),
        kind: Joi.string().valid('RELIABLE', 'LOSSY'),
        destinationIdentities: Joi.array().items(Joi.string().max(128)).max(1000).default([]),
        topic: Joi.string().max(256),
      }),
      run: async (body) => {
        await participants.sendData(body.room, { payload: body.data, topic: body.topic, to: body.destinationIdentities });
        return {};
      },
    },
  };
}
