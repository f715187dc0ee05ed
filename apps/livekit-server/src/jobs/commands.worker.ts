import type { Worker } from 'bullmq';
import type Joi from 'joi';

import { AppError } from '@castplane/errors';
import type { QueueContext } from '@castplane/redis';
import { serveCommands } from '@castplane/redis';

import { createRoomBody, roomName } from '../schemas/common.schemas';
import type { RoomService } from '../services/room.service';
import type { SettingsService } from '../services/settings.service';

function validated<T>(schema: Joi.Schema, payload: unknown): T {
  const { error, value } = schema.validate(payload, { abortEarly: false, errors: { wrap: { label: false } } });
  if (error) {
    throw new AppError('invalid_argument', `invalid command payload: ${error.message}`, {
      details: error.details.map((detail) => ({ field: `payload.${detail.path.join('.')}`, message: detail.message })),
    });
  }
  return value as T;
}

const nameOnly = roomName.required();

/** Commands from the orchestrator, run with the same service code as the REST routes. */
export function startCommandWorker(context: QueueContext, rooms: RoomService, settings: SettingsService): Worker {
  return serveCommands(context, 'livekit-server', {
    'room.create': async (payload) => {
      const input = validated<typeof payload>(createRoomBody, payload);
      const { room, created } = await rooms.create(input);
      // An existing room gets the stream link it is created for, so its recordings work.
      if (!created && input.linkedStream) await rooms.linkStream(room.name, input.linkedStream);
      return { sid: room.sid, name: room.name, created };
    },
    'room.end': async (payload) => {
      const name = validated<string>(nameOnly, payload.name);
      return { name, ended: await rooms.end(name, 'ended by a command') };
    },
    'room.delete': async (payload) => {
      const name = validated<string>(nameOnly, payload.name);
      return { name, deleted: await rooms.end(name, 'deleted by a command') };
    },
    'config.apply': async (payload) => settings.apply(payload.settings ?? {}),
  });
}
