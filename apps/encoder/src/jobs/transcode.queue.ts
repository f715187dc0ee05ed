import type { ProbeResult } from '../clients/ffprobe.client';
import type { Profile } from '../schemas/profile.schema';
import type { RtmpPush } from '../schemas/stream-config.schema';

export const TRANSCODE_QUEUE = 'encoder-transcode';

/** `live`: a stream's ladder; `vod`: an uploaded file's ladder; `record`: an MP4 copy of a stream. */
export type TranscodeKind = 'live' | 'vod' | 'record';

/** Job data. It never contains a stream key: live sources are played without one. */
export interface TranscodeJobData {
  kind: TranscodeKind;
  keyId?: string;
  app?: string;
  name?: string;
  runId: string;
  /** Input URL or file path; credentials in it are removed before it is shown or logged. */
  source: string;
  /** Reads a file source at its native rate, so it behaves like a live stream. */
  realtime: boolean;
  /** Output folder relative to the media root. */
  outputDir: string;
  profiles: Profile[];
  hls: { segmentSeconds: number; playlistSize: number };
  /** MP4 file relative to the media root, written next to the ladder or alone for `record` jobs. */
  recordPath?: string;
  rtmpPush: RtmpPush[];
  /** The source's streams when they were probed already (uploads), so the worker skips its probe. */
  probed?: ProbeResult;
  /** Deletes the source file when the job ends (uploads). */
  removeSource?: boolean;
}

export interface TranscodeResult {
  /** Files and folders written, relative to the media root. */
  outputs: string[];
  masterPlaylistPath?: string;
  /** True when the job was stopped on request (stream ended or stop) instead of reaching the end. */
  stopped: boolean;
}

/** Reason a running job is asked to end. */
export type StopReason = 'stop' | 'cancel' | 'shutdown';

export interface ControlMessage {
  jobId: string;
  reason: StopReason;
}
