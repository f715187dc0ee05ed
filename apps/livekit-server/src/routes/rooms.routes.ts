import Joi from 'joi';

import { defineRoute } from '@castplane/http';
import type { RouteDefinition } from '@castplane/http';

import { roomHandlers } from '../handlers/room.handlers';
import {
  createRoomBody,
  linkedStream,
  participantParams,
  roomParams,
  trackParams,
} from '../schemas/common.schemas';
import type { ParticipantService } from '../services/participant.service';
import type { RoomService } from '../services/room.service';

const startBody = createRoomBody.fork(['name'], (schema) => schema.forbidden());

/** Admin routes for rooms, participants and tracks. A room id is the room's name. */
export function roomRoutes(rooms: RoomService, participants: ParticipantService): RouteDefinition[] {
  const h = roomHandlers(rooms, participants);
  const tags = ['rooms'];
  return [
    defineRoute({ method: 'post', path: '/api/rooms', summary: 'Create a room (existing rooms are returned)', tags, auth: 'write', validate: { body: createRoomBody }, handler: h.create }),
    defineRoute({ method: 'get', path: '/api/rooms', summary: 'List rooms', tags, auth: 'read', handler: h.list }),
    defineRoute({ method: 'get', path: '/api/rooms/:roomId', summary: 'Get a room', tags, auth: 'read', validate: { params: roomParams }, handler: h.get }),
    defineRoute({ method: 'delete', path: '/api/rooms/:roomId', summary: 'Delete a room (disconnects everyone)', tags, auth: 'write', validate: { params: roomParams }, handler: h.remove }),
    defineRoute({ method: 'post', path: '/api/rooms/:roomId/start', summary: 'Start a room (create it if missing)', tags, auth: 'write', validate: { params: roomParams, body: startBody.default({}) }, handler: h.start }),
    defineRoute({ method: 'post', path: '/api/rooms/:roomId/end', summary: 'End a room and disconnect everyone', tags, auth: 'write', validate: { params: roomParams }, handler: h.end }),
    defineRoute({
      method: 'put',
      path: '/api/rooms/:roomId/linked-stream',
      summary: 'Link a live stream to the room (its recordings record it); null unlinks',
      tags,
      auth: 'write',
      validate: { params: roomParams, body: Joi.object({ linkedStream: linkedStream.allow(null).required() }) },
      handler: h.linkStream,
    }),
    defineRoute({ method: 'get', path: '/api/rooms/:roomId/participants', summary: 'List participants', tags: ['participants'], auth: 'read', validate: { params: roomParams }, handler: h.listParticipants }),
    defineRoute({ method: 'get', path: '/api/rooms/:roomId/participants/:participantId', summary: 'Get a participant', tags: ['participants'], auth: 'read', validate: { params: participantParams }, handler: h.getParticipant }),
    defineRoute({ method: 'delete', path: '/api/rooms/:roomId/participants/:participantId', summary: 'Remove a participant', tags: ['participants'], auth: 'write', validate: { params: participantParams }, handler: h.removeParticipant }),
    defineRoute({ method: 'post', path: '/api/rooms/:roomId/participants/:participantId/mute', summary: "Mute all of a participant's tracks", tags: ['participants'], auth: 'write', bodyType: 'none', validate: { params: participantParams }, handler: h.mute(true) }),
    defineRoute({ method: 'post', path: '/api/rooms/:roomId/participants/:participantId/unmute', summary: "Unmute all of a participant's tracks", tags: ['participants'], auth: 'write', bodyType: 'none', validate: { params: participantParams }, handler: h.mute(false) }),
    defineRoute({ method: 'get', path: '/api/rooms/:roomId/tracks', summary: 'List the tracks in a room', tags: ['tracks'], auth: 'read', validate: { params: roomParams }, handler: h.listTracks }),
    defineRoute({ method: 'post', path: '/api/rooms/:roomId/tracks/:trackId/enable', summary: 'Enable a track', tags: ['tracks'], auth: 'write', bodyType: 'none', validate: { params: trackParams }, handler: h.setTrackEnabled(true) }),
    defineRoute({ method: 'post', path: '/api/rooms/:roomId/tracks/:trackId/disable', summary: 'Disable a track (the publisher is asked to stop sending it)', tags: ['tracks'], auth: 'write', bodyType: 'none', validate: { params: trackParams }, handler: h.setTrackEnabled(false) }),
    defineRoute({ method: 'delete', path: '/api/rooms/:roomId/tracks/:trackId', summary: 'Unpublish a track', tags: ['tracks'], auth: 'write', validate: { params: trackParams }, handler: h.removeTrack }),
  ];
}
