import Joi from 'joi';

import { twirpRoomName } from '../schemas/common.schemas';
import type { RecordingService } from '../services/recording.service';
import { TWIRP_JSON, toEgress } from './livekit-messages';
import { GRANTS } from './twirp.auth';
import type { TwirpMethod } from './twirp.types';

const fileOutput = Joi.object({ filepath: Joi.string().allow('').max(1024), fileType: Joi.string() }).unknown(true);

/**
 * LiveKit's Egress service mapped onto room recordings: a room composite egress records the
 * room's linked live stream. Only file outputs are described; the encoder picks the path.
 */
export function egressMethods(recordings: RecordingService): Record<string, TwirpMethod> {
  return {
    StartRoomCompositeEgress: {
      grant: GRANTS.roomRecord,
      schema: Joi.object({
        roomName: twirpRoomName.required(),
        layout: Joi.string().allow('').max(64),
        file: fileOutput,
        fileOutputs: Joi.array().items(fileOutput).max(1),
      }).unknown(true),
      run: async (body) => {
        const filepath = body.fileOutputs?.[0]?.filepath ?? body.file?.filepath;
        const recording = await recordings.start({ roomName: body.roomName, layout: body.layout, filepath });
        return toEgress(recording).toJson(TWIRP_JSON);
      },
    },
    ListEgress: {
      grant: GRANTS.roomRecord,
      schema: Joi.object({ roomName: twirpRoomName, egressId: Joi.string().max(64), active: Joi.boolean() }).unknown(true),
      run: async (body) => {
        const items = await recordings.list(body);
        return { items: items.map((recording) => toEgress(recording).toJson(TWIRP_JSON)), next_page_token: null };
      },
    },
    StopEgress: {
      grant: GRANTS.roomRecord,
      schema: Joi.object({ egressId: Joi.string().min(1).max(64).required() }).unknown(true),
      run: async (body) => toEgress(await recordings.stop(body.egressId)).toJson(TWIRP_JSON),
    },
  };
}
