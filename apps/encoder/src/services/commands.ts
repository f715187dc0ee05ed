import { Joi } from '@castplane/config';
import { AppError } from '@castplane/errors';
import type { CommandHandlers } from '@castplane/redis';

import { PROFILE_ID } from '../schemas/profile.schema';
import { STREAM_KEY } from '../schemas/stream-config.schema';
import type { JobService } from './job.service';
import { keyIdOf } from './redis-keys';
import type { SettingsService } from './settings.service';
import type { StreamConfigService } from './stream-config.service';
import type { TranscodeService } from './transcode.service';

export interface CommandDeps {
  configs: StreamConfigService;
  transcodes: TranscodeService;
  jobs: JobService;
  settings: SettingsService;
}

const STREAM_PART = Joi.string().pattern(/^[A-Za-z0-9_.-]{1,128}$/);

const schemas = {
  arm: Joi.object({ streamKey: STREAM_KEY.required(), app: STREAM_PART.required(), name: STREAM_PART.required(), profiles: Joi.array().items(PROFILE_ID).min(1).max(8).unique().required(), record: Joi.boolean().required() }),
  key: Joi.object({ streamKey: STREAM_KEY.required() }),
  recordStart: Joi.object({ app: STREAM_PART.required(), name: STREAM_PART.required(), label: Joi.string().min(1).max(128).required() }),
  jobId: Joi.object({ jobId: Joi.string().min(1).max(200).required() }),
  settings: Joi.object({ settings: Joi.object().required() }),
};

// Commands are validated like request bodies; the failure names fields, never the stream key.
function check<T>(schema: Joi.ObjectSchema, payload: unknown): T {
  const { error, value } = schema.validate(payload, { abortEarly: false, errors: { wrap: { label: false } } });
  if (!error) return value as T;
  const details = error.details.map((detail) => ({ field: `payload.${detail.path.join('.')}`, message: detail.message.replace(/"[^"]*" /, '') }));
  throw new AppError('invalid_argument', `invalid command payload: ${details.map((detail) => detail.field).join(', ')}`, { details });
}

/** Handlers of the encoder's command queue; each runs the same service code as its REST route. */
export function encoderCommands(deps: CommandDeps): CommandHandlers<'encoder'> {
  return {
    'transcode.arm': async (payload) => {
      const input = check<typeof payload>(schemas.arm, payload);
      const existing = await deps.configs.findByKeyId(keyIdOf(input.streamKey));
      const config = await deps.configs.upsert({
        streamKey: input.streamKey,
        app: input.app,
        name: input.name,
        source: existing?.source,
        profiles: input.profiles,
        outputs: { hls: true, record: input.record, rtmpPush: (existing?.outputs.rtmpPush ?? []).filter((push) => input.profiles.includes(push.profileId)) },
        hls: existing?.hls ?? {},
        publish: existing?.publish,
      });
      return deps.transcodes.armConfig(config);
    },
    'transcode.stop': async (payload) => {
      const { streamKey } = check<{ streamKey: string }>(schemas.key, payload);
      return { stopped: (await deps.transcodes.stop(streamKey)).stopped };
    },
    'transcode.disarm': async (payload) => deps.transcodes.disarm(check<{ streamKey: string }>(schemas.key, payload).streamKey),
    'record.start': async (payload, job) => {
      const input = check<typeof payload>(schemas.recordStart, payload);
      return deps.transcodes.startRecording({ ...input, requestId: `command-${job.id}` });
    },
    'record.stop': async (payload) => {
      const { jobId } = check<{ jobId: string }>(schemas.jobId, payload);
      return { jobId, state: await deps.jobs.requestStop(jobId, 'stop') };
    },
    'config.apply': async (payload) => deps.settings.apply(check<{ settings: Record<string, unknown> }>(schemas.settings, payload).settings),
  };
}
