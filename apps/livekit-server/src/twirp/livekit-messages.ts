import {
  EgressInfo,
  EgressStatus,
  EncodedFileType,
  ParticipantInfo,
  ParticipantInfo_State,
  Room,
  TrackInfo,
  TrackSource,
  TrackType,
} from 'livekit-server-sdk';

import type { ParticipantRecord, RecordingRecord, RecordingStatus, RoomRecord, TrackRecord } from '../services/models';

// The codecs a new LiveKit room lists by default (server v1.13).
const ENABLED_CODECS = [
  'audio/PCMU',
  'audio/PCMA',
  'audio/opus',
  'audio/red',
  'video/VP8',
  'video/H264',
  'video/VP9',
  'video/AV1',
  'video/H265',
  'video/rtx',
].map((mime) => ({ mime, fmtpLine: '' }));

const TRACK_TYPES = { audio: TrackType.AUDIO, video: TrackType.VIDEO, data: TrackType.DATA } as const;

const TRACK_SOURCES = {
  unknown: TrackSource.UNKNOWN,
  camera: TrackSource.CAMERA,
  microphone: TrackSource.MICROPHONE,
  screen_share: TrackSource.SCREEN_SHARE,
  screen_share_audio: TrackSource.SCREEN_SHARE_AUDIO,
} as const;

const EGRESS_STATUS = {
  starting: EgressStatus.EGRESS_STARTING,
  active: EgressStatus.EGRESS_ACTIVE,
  ending: EgressStatus.EGRESS_ENDING,
  complete: EgressStatus.EGRESS_COMPLETE,
  failed: EgressStatus.EGRESS_FAILED,
} as const;

const NS_PER_MS = 1_000_000n;

/** Options that make protobuf JSON match the real server's Twirp responses: snake_case, every field. */
export const TWIRP_JSON = { useProtoFieldName: true, emitDefaultValues: true } as const;

export function toRoom(room: RoomRecord, participants: ParticipantRecord[] = []): Room {
  return new Room({
    sid: room.sid,
    name: room.name,
    emptyTimeout: room.emptyTimeout,
    departureTimeout: room.departureTimeout,
    maxParticipants: room.maxParticipants,
    creationTime: BigInt(Math.floor(room.creationTimeMs / 1000)),
    creationTimeMs: BigInt(room.creationTimeMs),
    enabledCodecs: ENABLED_CODECS,
    metadata: room.metadata,
    numParticipants: participants.length,
    numPublishers: participants.filter((participant) => participant.tracks.length > 0).length,
    activeRecording: room.activeRecording !== '',
  });
}

export function toTrack(track: TrackRecord): TrackInfo {
  return new TrackInfo({
    sid: track.sid,
    type: TRACK_TYPES[track.kind],
    name: track.name,
    muted: track.muted,
    width: track.width,
    height: track.height,
    source: TRACK_SOURCES[track.source],
    mimeType: track.mimeType,
    version: { unixMicro: BigInt(track.publishedAtMs) * 1000n, ticks: 0 },
  });
}

export function toParticipant(
  participant: ParticipantRecord,
  state: ParticipantInfo_State = ParticipantInfo_State.ACTIVE,
): ParticipantInfo {
  return new ParticipantInfo({
    sid: participant.sid,
    identity: participant.identity,
    state,
    tracks: participant.tracks.map(toTrack),
    metadata: participant.metadata,
    joinedAt: BigInt(Math.floor(participant.joinedAtMs / 1000)),
    joinedAtMs: BigInt(participant.joinedAtMs),
    name: participant.name,
    version: participant.version,
    permission: {
      canPublish: participant.permission.canPublish,
      canSubscribe: participant.permission.canSubscribe,
      canPublishData: participant.permission.canPublishData,
      canUpdateMetadata: participant.permission.canUpdateMetadata,
      hidden: participant.permission.hidden,
      canPublishSources: participant.permission.canPublishSources
        .map((source) => TRACK_SOURCES[source as keyof typeof TRACK_SOURCES])
        .filter((source) => source !== undefined),
    },
    isPublisher: participant.tracks.length > 0,
    attributes: participant.attributes,
  });
}

function nanos(ms: number): bigint {
  return BigInt(ms) * NS_PER_MS;
}

/** Returns LiveKit's enum name for a recording status, such as `EGRESS_COMPLETE`. */
export function egressStatusName(status: RecordingStatus): string {
  return EgressStatus[EGRESS_STATUS[status]];
}

/**
 * Maps a room recording onto LiveKit's EgressInfo. All times are nanoseconds, and `startedAt` and
 * `endedAt` stay 0 until the encoder reports them. Only a complete recording lists its file.
 */
export function toEgress(recording: RecordingRecord): EgressInfo {
  return new EgressInfo({
    egressId: recording.egressId,
    roomId: recording.roomSid,
    roomName: recording.roomName,
    status: EGRESS_STATUS[recording.status],
    startedAt: nanos(recording.startedAtMs),
    endedAt: nanos(recording.endedAtMs),
    updatedAt: nanos(recording.updatedAtMs),
    error: recording.error,
    request: {
      case: 'roomComposite',
      value: {
        roomName: recording.roomName,
        layout: recording.layout,
        fileOutputs: [{ fileType: EncodedFileType.MP4, filepath: recording.filepath }],
      },
    },
    fileResults: recording.status === 'complete' ? [fileResult(recording)] : [],
  });
}

function fileResult(recording: RecordingRecord) {
  const recorded = recording.startedAtMs > 0 ? recording.endedAtMs - recording.startedAtMs : 0;
  return {
    filename: recording.outputPath,
    startedAt: nanos(recording.startedAtMs),
    endedAt: nanos(recording.endedAtMs),
    duration: nanos(Math.max(0, recorded)),
    location: recording.outputPath,
  };
}
