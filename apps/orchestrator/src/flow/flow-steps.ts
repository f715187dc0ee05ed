import type { ServiceName } from '@castplane/contracts';

import type { Orchestration, StartStepName, StopStepName } from '../schemas/orchestration.types';

/** One command on a service's queue. */
export interface StepCommand {
  service: ServiceName;
  command: string;
  payload: Record<string, unknown>;
}

export interface StartStep {
  name: StartStepName;
  service: ServiceName;
  command: string;
  /** Builds the payload from the request and earlier results; retries send the same payload. */
  payload(record: Orchestration): Record<string, unknown>;
  /** The command that undoes the step during rollback, if the step leaves anything behind. */
  compensate?(record: Orchestration): StepCommand;
}

export interface StopStep {
  name: StopStepName;
  service: ServiceName;
  command: string;
  /** Returns undefined when the start step this one undoes never completed. */
  payload(record: Orchestration): Record<string, unknown> | undefined;
}

/** Returns the result a completed start step stored, or an empty object. */
export function resultOf(record: Orchestration, step: StartStepName): Record<string, unknown> {
  return record.steps.find((entry) => entry.name === step && entry.state === 'completed')?.result ?? {};
}

function completed(record: Orchestration, step: StartStepName): boolean {
  return record.steps.some((entry) => entry.name === step && entry.state === 'completed');
}

function streamRef(record: Orchestration) {
  const stream = resultOf(record, 'stream');
  return {
    streamId: String(stream.streamId ?? ''),
    streamKey: String(stream.streamKey ?? ''),
    app: String(stream.app ?? record.request.app),
    name: String(stream.name ?? record.request.name),
  };
}

export const START_FLOW: StartStep[] = [
  {
    name: 'stream',
    service: 'srs-adapter',
    command: 'stream.create',
    payload: (record) => ({
      requestId: `${record.id}.stream`,
      name: record.request.name,
      app: record.request.app,
      dvr: record.request.record,
      metadata: { orchestrationId: record.id, title: record.request.title },
    }),
    compensate: (record) => ({
      service: 'srs-adapter',
      command: 'stream.delete',
      payload: { streamId: streamRef(record).streamId },
    }),
  },
  {
    name: 'room',
    service: 'livekit-server',
    command: 'room.create',
    payload: (record) => {
      const { room } = record.request;
      const { app, name } = streamRef(record);
      return {
        name: room.name,
        ...(room.emptyTimeout !== undefined ? { emptyTimeout: room.emptyTimeout } : {}),
        ...(room.maxParticipants !== undefined ? { maxParticipants: room.maxParticipants } : {}),
        ...(room.metadata !== undefined ? { metadata: room.metadata } : {}),
        linkedStream: { app, name },
      };
    },
    compensate: (record) => ({
      service: 'livekit-server',
      command: 'room.delete',
      payload: { name: record.request.room.name },
    }),
  },
  {
    name: 'transcode',
    service: 'encoder',
    command: 'transcode.arm',
    payload: (record) => {
      const { streamKey, app, name } = streamRef(record);
      return { streamKey, app, name, profiles: record.request.profiles, record: record.request.record };
    },
    compensate: (record) => ({
      service: 'encoder',
      command: 'transcode.disarm',
      payload: { streamKey: streamRef(record).streamKey },
    }),
  },
  {
    name: 'broadcast',
    service: 'livekit-sdk',
    command: 'broadcast.create',
    payload: (record) => ({
      requestId: `${record.id}.broadcast`,
      title: record.request.title,
      roomName: record.request.room.name,
      hostIdentity: record.request.hostIdentity,
    }),
    compensate: (record) => ({
      service: 'livekit-sdk',
      command: 'broadcast.delete',
      payload: { streamId: String(resultOf(record, 'broadcast').streamId ?? '') },
    }),
  },
  {
    name: 'host_token',
    service: 'livekit-sdk',
    command: 'token.issue',
    payload: (record) => ({ roomName: record.request.room.name, identity: record.request.hostIdentity, role: 'host' }),
  },
];

export const STOP_FLOW: StopStep[] = [
  {
    name: 'transcode_stop',
    service: 'encoder',
    command: 'transcode.stop',
    payload: (record) => (completed(record, 'transcode') ? { streamKey: streamRef(record).streamKey } : undefined),
  },
  {
    name: 'unpublish',
    service: 'srs-adapter',
    command: 'stream.unpublish',
    payload: (record) => (completed(record, 'stream') ? { streamId: streamRef(record).streamId } : undefined),
  },
  {
    name: 'room_end',
    service: 'livekit-server',
    command: 'room.end',
    payload: (record) => (completed(record, 'room') ? { name: record.request.room.name } : undefined),
  },
  {
    name: 'broadcast_stop',
    service: 'livekit-sdk',
    command: 'broadcast.stop',
    payload: (record) => {
      const streamId = resultOf(record, 'broadcast').streamId;
      return streamId ? { streamId: String(streamId) } : undefined;
    },
  },
];
