import type { Response } from 'express';
import Joi from 'joi';

import { defineRoute } from '@castplane/http';
import type { RouteDefinition, ValidRequest } from '@castplane/http';

import { recordingView } from '../handlers/views';
import { egressId, roomName, roomParams } from '../schemas/common.schemas';
import type { RecordingService } from '../services/recording.service';
import type { RoomService } from '../services/room.service';

type Req = ValidRequest<{ params: any; body: any; query: any }>;

/** Room recordings through the encoder. A room without a linked live stream gets 409. */
export function recordingRoutes(recordings: RecordingService, rooms: RoomService): RouteDefinition[] {
  const tags = ['recording'];
  return [
    defineRoute({
      method: 'post',
      path: '/api/recording/start',
      summary: "Start recording a room's linked live stream",
      tags,
      auth: 'write',
      validate: { body: Joi.object({ roomId: roomName.required() }) },
      handler: async (req: Req, res: Response) => {
        res.status(201).json(recordingView(await recordings.start({ roomName: req.valid.body.roomId })));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/recording/stop',
      summary: 'Stop a recording, by its id or by room; it is `ending` until the encoder reports the final file',
      tags,
      auth: 'write',
      validate: { body: Joi.object({ roomId: roomName, egressId }).xor('roomId', 'egressId') },
      handler: async (req: Req, res: Response) => {
        const { roomId, egressId: id } = req.valid.body;
        const stopped = id ? await recordings.stop(id) : await recordings.stopForRoom(roomId);
        res.json(recordingView(stopped!));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/recording/status/:roomId',
      summary: "A room's recording state and its recordings",
      tags,
      auth: 'read',
      validate: { params: roomParams },
      handler: async (req: Req, res: Response) => {
        const room = await rooms.get(req.valid.params.roomId);
        const list = await recordings.list({ roomName: room.name });
        res.json({
          roomId: room.name,
          recording: room.activeRecording !== '',
          activeRecording: room.activeRecording || null,
          mediaSource: room.linkedStream ?? null,
          recordings: list.map(recordingView),
        });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/recording/list',
      summary: 'List recordings; `active=true` lists those not yet complete or failed',
      tags,
      auth: 'read',
      validate: { query: Joi.object({ roomId: roomName, active: Joi.boolean() }) },
      handler: async (req: Req, res: Response) => {
        const list = await recordings.list({ roomName: req.valid.query.roomId, active: req.valid.query.active });
        res.json({ recordings: list.map(recordingView) });
      },
    }),
  ];
}
