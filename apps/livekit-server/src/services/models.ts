import { randomInt } from 'node:crypto';

/** A stream on the media server that a room's recordings record. */
export interface LinkedStream {
  app: string;
  name: string;
}

export interface RoomRecord {
  sid: string;
  name: string;
  emptyTimeout: number;
  departureTimeout: number;
  maxParticipants: number;
  metadata: string;
  creationTimeMs: number;
  /** Set when the first participant joins; `emptyTimeout` applies only before that. */
  firstJoinedAtMs: number;
  /** Set when the last participant leaves; `departureTimeout` counts from it. */
  lastLeftAtMs: number;
  linkedStream?: LinkedStream;
  activeRecording: string;
}

export type TrackKind = 'audio' | 'video' | 'data';
export type TrackSourceName = 'unknown' | 'camera' | 'microphone' | 'screen_share' | 'screen_share_audio';

export interface TrackRecord {
  sid: string;
  kind: TrackKind;
  name: string;
  source: TrackSourceName;
  muted: boolean;
  /** Disabled by an admin: the publisher is asked to stop sending it. */
  disabled: boolean;
  width: number;
  height: number;
  mimeType: string;
  publishedAtMs: number;
}

export interface ParticipantPermissionRecord {
  canPublish: boolean;
  canSubscribe: boolean;
  canPublishData: boolean;
  canPublishSources: string[];
  canUpdateMetadata: boolean;
  hidden: boolean;
}

export interface ClientStats {
  bitrateKbps?: number;
  packetLoss?: number;
  rttMs?: number;
  jitterMs?: number;
  reportedAtMs?: number;
}

export interface ParticipantRecord {
  sid: string;
  identity: string;
  name: string;
  metadata: string;
  attributes: Record<string, string>;
  permission: ParticipantPermissionRecord;
  joinedAtMs: number;
  /** The replica holding the participant's socket, and the socket's own id. */
  nodeId: string;
  sessionId: string;
  tracks: TrackRecord[];
  version: number;
  stats: ClientStats;
}

/**
 * A recording's lifecycle: `starting` until the encoder reports that ffmpeg runs, `active` while it
 * records, `ending` after a stop request, and `complete` or `failed` once the file is final.
 */
export type RecordingStatus = 'starting' | 'active' | 'ending' | 'complete' | 'failed';

/** Statuses after which a recording never changes again. */
export const FINAL_RECORDING_STATUSES: readonly RecordingStatus[] = ['complete', 'failed'];

export interface RecordingRecord {
  egressId: string;
  roomName: string;
  roomSid: string;
  encoderJobId: string;
  outputPath: string;
  status: RecordingStatus;
  layout: string;
  filepath: string;
  error: string;
  /** When Start was requested. */
  createdAtMs: number;
  /** When the encoder reported that recording began; 0 until then. */
  startedAtMs: number;
  /** When the file became final (`complete`) or the recording failed; 0 until then. */
  endedAtMs: number;
  updatedAtMs: number;
}

// The shortuuid alphabet (base57) LiveKit uses after its id prefixes.
const ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** Returns a LiveKit-style id: `prefix` followed by 12 base57 characters. */
export function newId(prefix: 'RM_' | 'PA_' | 'TR_' | 'EG_' | 'EV_' | 'SE_'): string {
  let id = prefix;
  for (let i = 0; i < 12; i += 1) id += ALPHABET[randomInt(ALPHABET.length)];
  return id;
}
