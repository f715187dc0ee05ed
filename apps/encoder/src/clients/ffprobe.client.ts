import { execFile } from 'node:child_process';

import { AppError } from '@castplane/errors';

export interface ProbeResult {
  formatName: string;
  durationSeconds: number | null;
  video?: { codec: string; width: number; height: number; fps: number };
  audio?: { codec: string; channels: number; sampleRate: number };
}

interface RawProbe {
  streams?: { codec_type?: string; codec_name?: string; width?: number; height?: number; avg_frame_rate?: string; channels?: number; sample_rate?: string }[];
  format?: { format_name?: string; duration?: string };
}

/** Raised when ffprobe cannot open or read a source; `output` is its last stderr line. */
export class ProbeError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
    this.name = 'ProbeError';
  }
}

/** Runs ffprobe (argument array, no shell) and returns the first video and audio streams. */
export function probe(ffprobePath: string, target: string, timeoutMs: number): Promise<ProbeResult> {
  const args = ['-v', 'error', ...liveInputArgs(target), '-print_format', 'json', '-show_streams', '-show_format', target];
  return new Promise((resolve, reject) => {
    execFile(ffprobePath, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        const output = stderr.trim().split('\n').pop() ?? '';
        const reason = error.killed ? `no answer within ${timeoutMs} ms` : output || error.message;
        reject(new ProbeError(`cannot read the source: ${reason}`, output));
        return;
      }
      resolve(toProbeResult(JSON.parse(stdout) as RawProbe));
    });
  });
}

function toProbeResult(raw: RawProbe): ProbeResult {
  const video = raw.streams?.find((stream) => stream.codec_type === 'video' && stream.width);
  const audio = raw.streams?.find((stream) => stream.codec_type === 'audio');
  const duration = Number.parseFloat(raw.format?.duration ?? '');
  return {
    formatName: raw.format?.format_name ?? 'unknown',
    durationSeconds: Number.isFinite(duration) ? duration : null,
    video: video && {
      codec: video.codec_name ?? 'unknown',
      width: video.width ?? 0,
      height: video.height ?? 0,
      fps: frameRate(video.avg_frame_rate),
    },
    audio: audio && {
      codec: audio.codec_name ?? 'unknown',
      channels: audio.channels ?? 0,
      sampleRate: Number(audio.sample_rate ?? 0),
    },
  };
}

function frameRate(value: string | undefined): number {
  const [num, den] = (value ?? '0/1').split('/').map(Number);
  return den ? Math.round((num / den) * 100) / 100 : 0;
}

/** Returns the first line of `ffmpeg -version`, or fails when ffmpeg cannot be run. */
export function ffmpegVersion(ffmpegPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(ffmpegPath, ['-hide_banner', '-version'], { timeout: 5000 }, (error, stdout) => {
      if (error) reject(new AppError('unavailable', `ffmpeg cannot be run: ${error.message}`));
      else resolve(stdout.split('\n')[0].trim());
    });
  });
}

const LIVE_SOURCE = /^(rtmps?|rtsp|srt):\/\//i;

/**
 * Returns input options that shorten stream analysis for live network sources. By default ffmpeg
 * and ffprobe read about 5 s of a live stream before they start, once for the probe and once more
 * for the transcode. One second of an RTMP stream (the media server sends its cached keyframe
 * first) carries the codec parameters.
 */
export function liveInputArgs(source: string): string[] {
  return LIVE_SOURCE.test(source) ? ['-analyzeduration', '1000000', '-probesize', '1000000'] : [];
}
