import type { CommandClient } from '@castplane/redis';
import { AppError, notFound } from '@castplane/errors';
import type { Logger } from '@castplane/logging';

import type { RecordingRecord } from './models';
import { newId } from './models';
import type { RoomEvents } from './room-events';
import { RoomService } from './room.service';
import type { RoomStore } from './room.store';

export interface StartRecordingInput {
  roomName: string;
  layout?: string;
  filepath?: string;
}

/**
 * Room recordings: the room's linked live stream is recorded by the encoder (`record.start` and
 * `record.stop` commands). One active recording per room. LiveKit's Egress API maps onto these.
 */
export class RecordingService {
  constructor(
    private readonly store: RoomStore,
    private readonly rooms: RoomService,
    private readonly encoder: Pick<CommandClient, 'send'>,
    private readonly events: RoomEvents,
    private readonly logger: Logger,
    private readonly timeoutMs: number,
  ) {}

  async start(input: StartRecordingInput): Promise<RecordingRecord> {
    const room = await this.rooms.get(input.roomName);
    const stream = RoomService.requireLinkedStream(room);
    const egressId = newId('EG_');
    if (!(await this.store.claimRecordingSlot(room.name, egressId))) {
      throw new AppError('failed_precondition', `room "${room.name}" is already being recorded`, { reason: 'recording_active' });
    }
    try {
      const job = await this.encoder.send('encoder', 'record.start', { app: stream.app, name: stream.name, label: room.name }, {
        timeoutMs: this.timeoutMs,
        jobId: `record-start-${egressId}`,
        attempts: 1,
      });
      const now = Date.now();
      const recording: RecordingRecord = {
        egressId,
        roomName: room.name,
        roomSid: room.sid,
        encoderJobId: job.jobId,
        outputPath: job.outputPath,
        status: 'active',
        layout: input.layout ?? '',
        filepath: input.filepath ?? job.outputPath,
        error: '',
        startedAtMs: now,
        endedAtMs: 0,
        updatedAtMs: now,
      };
      await this.store.saveRecording(recording);
      this.logger.info('recording started', { roomName: room.name, egressId, jobId: job.jobId });
      await this.events.egressChanged('started', recording);
      return recording;
    } catch (error) {
      await this.store.releaseRecordingSlot(room.name, egressId);
      throw error;
    }
  }

  async stop(egressId: string): Promise<RecordingRecord> {
    const recording = await this.get(egressId);
    if (recording.status !== 'active') {
      throw new AppError('failed_precondition', `recording ${egressId} has already ended`, { reason: 'recording_ended' });
    }
    let failure = '';
    try {
      await this.encoder.send('encoder', 'record.stop', { jobId: recording.encoderJobId }, { timeoutMs: this.timeoutMs, attempts: 1 });
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
      this.logger.warn('encoder did not stop the recording', { egressId, err: failure });
    }
    const now = Date.now();
    const ended: RecordingRecord = { ...recording, status: failure ? 'failed' : 'complete', error: failure, endedAtMs: now, updatedAtMs: now };
    await this.store.saveRecording(ended);
    await this.store.releaseRecordingSlot(recording.roomName, egressId);
    await this.events.egressChanged('ended', ended);
    return ended;
  }

  /** Stops the room's active recording, if any (a room that ends stops its recording). */
  async stopForRoom(roomName: string): Promise<RecordingRecord | undefined> {
    const room = await this.rooms.get(roomName);
    if (!room.activeRecording) throw new AppError('failed_precondition', `room "${roomName}" is not being recorded`, { reason: 'recording_inactive' });
    return this.stop(room.activeRecording);
  }

  async get(egressId: string): Promise<RecordingRecord> {
    const recording = await this.store.getRecording(egressId);
    if (!recording) throw notFound('recording', egressId);
    return recording;
  }

  async list(filter: { roomName?: string; egressId?: string; active?: boolean } = {}): Promise<RecordingRecord[]> {
    const all = await this.store.listRecordings();
    return all.filter(
      (recording) =>
        (!filter.roomName || recording.roomName === filter.roomName) &&
        (!filter.egressId || recording.egressId === filter.egressId) &&
        (!filter.active || recording.status === 'active'),
    );
  }
}
