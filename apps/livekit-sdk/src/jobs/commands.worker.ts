import type { Worker } from 'bullmq';

import type { CommandHandlers, QueueContext } from '@castplane/redis';
import { serveCommands } from '@castplane/redis';

import { configBody } from '../schemas/livekit-sdk.schemas';
import type { AppServices } from '../services';
import { invalidSettings } from '../services/settings.service';

const HOST_GRANTS = {
  roomJoin: true,
  canPublish: true,
  canSubscribe: true,
  canPublishData: true,
  roomAdmin: true,
};
const VIEWER_GRANTS = { roomJoin: true, canPublish: false, canSubscribe: true, canPublishData: false };
const CONFIG_KEYS = Object.keys(configBody.describe().keys ?? {});

/** Builds the handlers of the orchestrator's commands, which use the same services as the REST routes. */
export function commandHandlers(services: AppServices): CommandHandlers<'livekit-sdk'> {
  return {
    'broadcast.create': async (payload) => {
      const { stream } = await services.streams.create(payload);
      return { streamId: stream.streamId, roomName: stream.roomName };
    },
    'broadcast.start': async ({ streamId }) => {
      const stream = await services.streams.start(streamId);
      return { streamId, state: stream.state };
    },
    'broadcast.stop': async ({ streamId }) => {
      const stream = await services.streams.stop(streamId);
      return { streamId, state: stream.state };
    },
    'broadcast.delete': async ({ streamId }) => {
      const deleted = await services.streams.delete(streamId).then(
        () => true,
        (error: unknown) => {
          // Deleting twice is not an error for the orchestrator: the stream is gone either way.
          if ((error as { code?: string }).code === 'not_found') return false;
          throw error;
        },
      );
      return { streamId, deleted };
    },
    'token.issue': async ({ roomName, identity, role, ttlSeconds }) => {
      const issued = await services.tokens.issue({
        roomName,
        identity,
        ttlSeconds: ttlSeconds ?? services.settings.current().defaultTokenTtlSeconds,
        grants: role === 'host' ? HOST_GRANTS : VIEWER_GRANTS,
        issuedBy: 'orchestrator',
      });
      return {
        token: issued.token,
        tokenId: issued.tokenId,
        signalUrl: services.rooms.signalUrl(roomName),
        expiresAt: issued.expiresAt,
      };
    },
    'config.apply': async ({ settings }) => {
      const names = Object.keys(settings);
      const known = Object.fromEntries(names.filter((name) => CONFIG_KEYS.includes(name)).map((name) => [name, settings[name]]));
      const ignored = names.filter((name) => !CONFIG_KEYS.includes(name));
      if (Object.keys(known).length === 0) return { changed: {}, ignored };
      const { error, value } = configBody.validate(known, { abortEarly: false });
      if (error) throw invalidSettings(error);
      return { changed: await services.settings.update(value), ignored };
    },
  };
}

export function startCommandWorker(context: QueueContext, services: AppServices): Worker {
  return serveCommands(context, 'livekit-sdk', commandHandlers(services));
}
