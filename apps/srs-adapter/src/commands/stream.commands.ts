import type { CommandHandlers } from '@castplane/redis';
import { AppError } from '@castplane/errors';

import { createStreamBody } from '../schemas/stream.schemas';
import type { SourceIngest } from '../services/source-ingest';
import type { AdapterSettings } from '../services/adapter-settings';
import type { StreamService } from '../services/stream.service';

/** Builds the srs-adapter command handlers, which call the same service code as the REST routes. */
export function streamCommands(streams: StreamService, ingest: SourceIngest, settings: AdapterSettings): CommandHandlers<'srs-adapter'> {
  return {
    'stream.create': async (payload) => {
      const { error, value } = createStreamBody.validate(payload, { abortEarly: false });
      if (error) throw new AppError('invalid_argument', error.message, { details: error.details.map((item) => ({ field: item.path.join('.'), message: item.message })) });
      const { stream: _view, ...created } = await streams.create(value);
      return created;
    },
    'stream.unpublish': async ({ streamId }) => {
      await ingest.stop(streamId);
      const result = await streams.unpublish(streamId);
      return { streamId, kicked: result.kicked };
    },
    'stream.delete': async ({ streamId }) => {
      await ingest.stop(streamId);
      return streams.delete(streamId);
    },
    'stream.get': async ({ streamId }) => {
      const stream = await streams.get(streamId);
      return { streamId, state: stream.state };
    },
    'config.apply': async (payload) => settings.apply(payload.settings ?? {}),
  };
}
