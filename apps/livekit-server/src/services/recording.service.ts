import type { EventEnvelope, EventMap } from '@castplane/contracts';
import { AppError, notFound } from '@castplane/errors';
import type { Logger } from '@castplane/logging';
import { redactText } from '@castplane/logging';
import type { CommandClient } from '@castplane/redis';

import { egressStatusName } from '../twirp/livekit-messages';
import type { RecordingRecord, RecordingStatus } from './models';
import { FINAL_RECORDING_STATUSES, newId } from './models';
import type { RecordingStore } from './recording.store';
import type { RoomEvents } from './room-events';
import { RoomService } from './room.service';

export interface StartRecordingInput {
  roomName: string;
  layout?: string;
  filepath?: string;
}

export interface RecordingOptions {
  /** How long `record.start` and `record.stop` may take. */
  encoderTimeoutMs: number;
  /** How long an ended recording stays listed, in days. */
  retentionDays: number;
}

/** How often a replica removes recordings past the retention. */
const PRUNE_INTERVAL_MS = 3600_000;

const STOPPABLE: readonly RecordingStatus[] = ['starting', 'active'];

/**
 * Room recordings: the room's linked live stream is recorded by the encoder (`record.start` and
 * `record.stop` commands), and the encoder's `transcode.*` events move each recording through
 * `starting`, `active`, `ending` and `complete` or `failed`. A room has one recording slot, held
 * from Start until the recording is complete or failed. LiveKit's Egress API maps onto these.
 */
export class RecordingService {
  private sweeper?: NodeJS.Timeout;
  private sweeping = false;
  private lastPrune = 0;

  constructor(
    private readonly store: RecordingStore,
    private readonly rooms: RoomService,
    private readonly encoder: Pick<CommandClient, 'send'>,
    private readonly events: RoomEvents,
    private readonly logger: Logger,
    private readonly options: RecordingOptions,
  ) {}

  /** Starts the encoder job and returns the recording in `starting`. The encoder's events move it on. */
  async start(input: StartRecordingInput): Promise<RecordingRecord> {
    const room = await this.rooms.get(input.roomName);
    const stream = RoomService.requireLinkedStream(room);
    const egressId = newId('EG_');
    if (!(await this.store.claimRecordingSlot(room.name, egressId))) {
      throw new AppError('failed_precondition', `room "${room.name}" is already being recorded`, { reason: 'recording_active' });
    }
    let recording: RecordingRecord;
    let parked: EventEnvelope[];
    try {
      const job = await this.encoder.send('encoder', 'record.start', { app: stream.app, name: stream.name, label: room.name }, {
        timeoutMs: this.options.encoderTimeoutMs,
        jobId: `record-start-${egressId}`,
        attempts: 1,
      });
      const now = Date.now();
      recording = {
        egressId,
        roomName: room.name,
        roomSid: room.sid,
        encoderJobId: job.jobId,
        outputPath: job.outputPath,
        status: 'starting',
        layout: input.layout ?? '',
        filepath: input.filepath ?? job.outputPath,
        error: '',
        createdAtMs: now,
        startedAtMs: 0,
        endedAtMs: 0,
        updatedAtMs: now,
      };
      // Queued before the record exists, so egress_started always precedes the webhooks its events send.
      await this.events.egressChanged('started', recording);
      parked = await this.store.create(recording);
    } catch (error) {
      await this.store.releaseRecordingSlot(room.name, egressId);
      throw error;
    }
    this.logger.info('recording requested', { roomName: room.name, egressId, jobId: recording.encoderJobId });
    await this.applyParked(recording, parked);
    return recording;
  }

  // The recording exists by now, so a failure here is logged and never releases its slot.
  private async applyParked(recording: RecordingRecord, parked: EventEnvelope[]): Promise<void> {
    for (const event of parked) {
      await this.applyEncoderEvent(event).catch((error: unknown) =>
        this.logger.error('early encoder event not applied', {
          egressId: recording.egressId,
          eventId: event.id,
          type: event.type,
          err: error instanceof Error ? error.message : String(error),
        }),
      );
    }
  }

  /**
   * Moves a `starting` or `active` recording to `ending` and sends `record.stop` to the encoder.
   * Returns the `ending` recording. The end arrives through the encoder's events or the ending timeout.
   */
  async stop(egressId: string): Promise<RecordingRecord> {
    const now = Date.now();
    const result = await this.store.transition(egressId, (recording) =>
      STOPPABLE.includes(recording.status) ? { ...recording, status: 'ending', updatedAtMs: now } : undefined,
    );
    if (!result) throw notFound('recording', egressId);
    const { recording, changed } = result;
    if (!changed) {
      // LiveKit's wording for StopEgress on an egress that cannot be stopped.
      throw new AppError('failed_precondition', `egress with status ${egressStatusName(recording.status)} cannot be stopped`, {
        reason: 'recording_not_stoppable',
      });
    }
    await this.events.egressChanged('updated', recording);
    await this.requestEncoderStop(recording);
    return recording;
  }

  // A job the encoder removed from its queue never ran, so no event will end the recording.
  private async requestEncoderStop(recording: RecordingRecord): Promise<void> {
    try {
      const stopped = await this.encoder.send('encoder', 'record.stop', { jobId: recording.encoderJobId }, {
        timeoutMs: this.options.encoderTimeoutMs,
        attempts: 1,
      });
      if (stopped.state === 'removed') {
        const error = 'the recording was stopped before the encoder started it, so no file was written';
        await this.finish(recording.egressId, 'failed', error);
      }
    } catch (error) {
      this.logger.warn('encoder did not confirm the recording stop, so the recording waits for its end event or the ending timeout', {
        egressId: recording.egressId,
        jobId: recording.encoderJobId,
        err: error instanceof Error ? error.message : String(error),
      });
    }
  }

  /** Stops the room's recording (a room that ends stops its recording). */
  async stopForRoom(roomName: string): Promise<RecordingRecord | undefined> {
    const room = await this.rooms.get(roomName);
    if (!room.activeRecording) throw new AppError('failed_precondition', `room "${roomName}" is not being recorded`, { reason: 'recording_inactive' });
    return this.stop(room.activeRecording);
  }

  /** Stops a recording that is `starting` or `active`, and leaves one that is already ending or ended. */
  async stopIfRunning(egressId: string): Promise<void> {
    const recording = await this.store.getRecording(egressId);
    if (recording && STOPPABLE.includes(recording.status)) await this.stop(egressId);
  }

  /**
   * Applies one encoder event to the recording of its job: `transcode.started` makes it `active`,
   * `transcode.completed` `complete` (when the output lists its file) and `transcode.failed`
   * `failed`. Each status changes once, so repeated and late events change nothing.
   */
  async applyEncoderEvent(event: EventEnvelope): Promise<void> {
    if (!event.type.startsWith('transcode.')) return;
    const data = event.data as EventMap['transcode.started' | 'transcode.completed' | 'transcode.failed'];
    const egressId = await this.store.findByJobOrPark(data.jobId, event);
    if (!egressId) return;
    const atMs = eventTime(event);
    if (event.type === 'transcode.started') return this.markActive(egressId, atMs);
    if (event.type === 'transcode.failed') {
      return this.finish(egressId, 'failed', redactText((data as EventMap['transcode.failed']).error), atMs);
    }
    const recording = await this.store.getRecording(egressId);
    if (recording && (data as EventMap['transcode.completed']).outputs.includes(recording.outputPath)) {
      return this.finish(egressId, 'complete', '', atMs);
    }
    return this.finish(egressId, 'failed', 'the encoder finished the job without writing the recording file', atMs);
  }

  // A recording stopped while `starting` keeps `ending` but still takes its start time.
  private async markActive(egressId: string, atMs: number): Promise<void> {
    const result = await this.store.transition(egressId, (recording) => {
      if (recording.status === 'starting') return { ...recording, status: 'active', startedAtMs: atMs, updatedAtMs: atMs };
      if (recording.status === 'ending' && recording.startedAtMs === 0) return { ...recording, startedAtMs: atMs };
      return undefined;
    });
    if (!result?.changed || result.recording.status !== 'active') return;
    this.logger.info('recording active', { roomName: result.recording.roomName, egressId, jobId: result.recording.encoderJobId });
    await this.events.egressChanged('updated', result.recording);
  }

  /** Ends a recording once with `status`. A recording that has already ended keeps its first end. */
  private async finish(egressId: string, status: 'complete' | 'failed', error: string, atMs = Date.now()): Promise<void> {
    const result = await this.store.transition(egressId, (recording) => {
      if (FINAL_RECORDING_STATUSES.includes(recording.status)) return undefined;
      return { ...recording, status, error, endedAtMs: atMs, updatedAtMs: atMs };
    });
    if (!result?.changed) {
      const currentStatus = result?.recording.status;
      this.logger.info('recording end ignored because the recording has already ended', { egressId, status, currentStatus });
      return;
    }
    const { recording } = result;
    const fields = { roomName: recording.roomName, egressId, jobId: recording.encoderJobId, status };
    if (status === 'failed') this.logger.warn('recording failed', { ...fields, err: error });
    else this.logger.info('recording complete', { ...fields, outputPath: recording.outputPath });
    await this.events.egressChanged('ended', recording);
  }

  /**
   * Marks recordings that stayed `ending` past their deadline as failed, and returns how many. The
   * deadline comes from the replica that handled the stop, so the error states the time since then.
   */
  async failOverdue(nowMs = Date.now()): Promise<number> {
    const due = await this.store.dueEnding(nowMs);
    for (const egressId of due) {
      const recording = await this.store.getRecording(egressId);
      if (!recording) continue;
      const seconds = Math.round((nowMs - recording.updatedAtMs) / 1000);
      const error = `the encoder did not report the end of the recording within ${seconds} s of the stop request, so the file may be incomplete`;
      await this.finish(egressId, 'failed', error, nowMs);
    }
    return due.length;
  }

  /** Removes recordings that ended more than the retention ago, and returns how many. */
  async pruneExpired(nowMs = Date.now()): Promise<number> {
    const removed = await this.store.pruneEnded(nowMs - this.options.retentionDays * 86400_000);
    if (removed.length > 0) this.logger.info('ended recordings past the retention removed', { count: removed.length });
    return removed.length;
  }

  startSweeper(intervalMs: number): void {
    this.sweeper = setInterval(() => void this.tick(), intervalMs);
    this.sweeper.unref();
  }

  stopSweeper(): void {
    clearInterval(this.sweeper);
  }

  // A tick that is still running when the next one is due makes that one skip.
  private async tick(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      await this.failOverdue();
      if (Date.now() - this.lastPrune >= PRUNE_INTERVAL_MS) {
        this.lastPrune = Date.now();
        await this.pruneExpired();
      }
    } catch (error) {
      this.logger.warn('overdue recording sweep failed', { err: error instanceof Error ? error.message : String(error) });
    } finally {
      this.sweeping = false;
    }
  }

  async get(egressId: string): Promise<RecordingRecord> {
    const recording = await this.store.getRecording(egressId);
    if (!recording) throw notFound('recording', egressId);
    return recording;
  }

  /** Lists recordings; `active` keeps those that have not ended (`starting`, `active`, `ending`). */
  async list(filter: { roomName?: string; egressId?: string; active?: boolean } = {}): Promise<RecordingRecord[]> {
    const all = await this.store.listRecordings();
    return all.filter(
      (recording) =>
        (!filter.roomName || recording.roomName === filter.roomName) &&
        (!filter.egressId || recording.egressId === filter.egressId) &&
        (!filter.active || !FINAL_RECORDING_STATUSES.includes(recording.status)),
    );
  }
}

// The time the encoder published the event, or now when the envelope has no valid time.
function eventTime(event: EventEnvelope): number {
  const parsed = Date.parse(event.time);
  return Number.isFinite(parsed) ? parsed : Date.now();
}
