import { ParticipantInfo_State } from 'livekit-server-sdk';

import type { EventMap, EventName } from '@castplane/contracts';
import type { Logger } from '@castplane/logging';
import type { EventPublisher } from '@castplane/redis';

import type { WebhookFields, WebhookQueue } from '../jobs/webhook.queue';
import { toEgress, toParticipant, toRoom, toTrack } from '../twirp/livekit-messages';
import type { ParticipantRecord, RecordingRecord, RoomRecord, TrackRecord } from './models';

/**
 * Reports room lifecycle changes: a LiveKit webhook for each URL and a platform event for the
 * services that consume them. A failure to queue is logged, never thrown, so the change that
 * already happened is not reported to the caller as failed.
 */
export class RoomEvents {
  constructor(
    private readonly webhooks: WebhookQueue,
    private readonly events: EventPublisher,
    private readonly logger: Logger,
  ) {}

  roomStarted(room: RoomRecord): Promise<void> {
    return this.emit(room.name, { event: 'room_started', room: toRoom(room).toJson() }, 'room.started', {
      roomName: room.name,
      roomSid: room.sid,
    });
  }

  roomFinished(room: RoomRecord): Promise<void> {
    return this.emit(room.name, { event: 'room_finished', room: toRoom(room).toJson() }, 'room.finished', {
      roomName: room.name,
      roomSid: room.sid,
    });
  }

  participantJoined(room: RoomRecord, participants: ParticipantRecord[], participant: ParticipantRecord) {
    const fields = {
      event: 'participant_joined' as const,
      room: toRoom(room, participants).toJson(),
      participant: toParticipant(participant).toJson(),
    };
    return this.emit(room.name, fields, 'participant.joined', {
      roomName: room.name,
      identity: participant.identity,
      participantSid: participant.sid,
    });
  }

  participantLeft(room: RoomRecord, participants: ParticipantRecord[], participant: ParticipantRecord) {
    const fields = {
      event: 'participant_left' as const,
      room: toRoom(room, participants).toJson(),
      participant: toParticipant(participant, ParticipantInfo_State.DISCONNECTED).toJson(),
    };
    return this.emit(room.name, fields, 'participant.left', {
      roomName: room.name,
      identity: participant.identity,
      participantSid: participant.sid,
    });
  }

  trackChanged(
    change: 'published' | 'unpublished',
    room: RoomRecord,
    participant: ParticipantRecord,
    track: TrackRecord,
  ): Promise<void> {
    const fields = {
      event: `track_${change}` as const,
      room: toRoom(room).toJson(),
      participant: { sid: participant.sid, identity: participant.identity },
      track: toTrack(track).toJson(),
    };
    return this.emit(room.name, fields, `track.${change}`, {
      roomName: room.name,
      identity: participant.identity,
      trackSid: track.sid,
      kind: track.kind,
    });
  }

  /**
   * Reports an egress change: `started` at Start, `updated` when it becomes active or ending, and
   * `ended` once it is complete or failed. `updated` is a webhook only, because the platform has no
   * event for it.
   */
  egressChanged(change: 'started' | 'updated' | 'ended', recording: RecordingRecord): Promise<void> {
    const fields = {
      event: `egress_${change}` as const,
      room: { sid: recording.roomSid, name: recording.roomName },
      egressInfo: toEgress(recording).toJson(),
    };
    if (change === 'updated') return this.emit(recording.roomName, fields);
    return this.emit(recording.roomName, fields, `egress.${change}`, {
      roomName: recording.roomName,
      egressId: recording.egressId,
    });
  }

  private async emit<E extends EventName>(roomName: string, fields: WebhookFields, type?: E, data?: EventMap[E]) {
    try {
      await this.webhooks.enqueue(roomName, fields);
      if (type && data) await this.events.publish(type, data);
    } catch (error) {
      this.logger.error('room event not queued', {
        event: fields.event,
        roomName,
        err: error instanceof Error ? error.message : String(error),
      });
    }
  }
}
