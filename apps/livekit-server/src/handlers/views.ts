import type { ParticipantRecord, RecordingRecord, RoomRecord, TrackRecord } from '../services/models';

const iso = (ms: number) => (ms > 0 ? new Date(ms).toISOString() : null);

export function roomView(room: RoomRecord, participants?: ParticipantRecord[]) {
  return {
    sid: room.sid,
    name: room.name,
    emptyTimeout: room.emptyTimeout,
    departureTimeout: room.departureTimeout,
    maxParticipants: room.maxParticipants,
    metadata: room.metadata,
    createdAt: iso(room.creationTimeMs),
    linkedStream: room.linkedStream ?? null,
    activeRecording: room.activeRecording || null,
    ...(participants ? { numParticipants: participants.length } : {}),
  };
}

export function trackView(track: TrackRecord, identity?: string) {
  return { ...track, publishedAt: iso(track.publishedAtMs), ...(identity ? { identity } : {}) };
}

export function participantView(participant: ParticipantRecord, messagesRelayed?: number) {
  return {
    sid: participant.sid,
    identity: participant.identity,
    name: participant.name,
    metadata: participant.metadata,
    attributes: participant.attributes,
    permission: participant.permission,
    joinedAt: iso(participant.joinedAtMs),
    tracks: participant.tracks.map((track) => trackView(track)),
    stats: participant.stats,
    ...(messagesRelayed !== undefined ? { messagesRelayed } : {}),
  };
}

/**
 * A recording for the admin API. `status` is `starting`, `active`, `ending`, `complete` or `failed`.
 * `startedAt` and `endedAt` are null until the encoder reports them, and the file at `outputPath` is
 * final only when `status` is `complete`.
 */
export function recordingView(recording: RecordingRecord) {
  return {
    egressId: recording.egressId,
    roomName: recording.roomName,
    status: recording.status,
    outputPath: recording.outputPath,
    encoderJobId: recording.encoderJobId,
    error: recording.error || null,
    createdAt: iso(recording.createdAtMs),
    startedAt: iso(recording.startedAtMs),
    endedAt: iso(recording.endedAtMs),
    updatedAt: iso(recording.updatedAtMs),
  };
}
