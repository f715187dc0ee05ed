import { join } from 'node:path';

import { liveInputArgs } from '../clients/ffprobe.client';
import type { ProbeResult } from '../clients/ffprobe.client';
import type { Profile } from '../schemas/profile.schema';
import type { TranscodeJobData } from './transcode.queue';

// H.264 levels by maximum macroblocks per second and per frame (ITU-T H.264 Table A-1).
const LEVELS: [string, number, number, number][] = [
  ['3.0', 30, 40500, 1620],
  ['3.1', 31, 108000, 3600],
  ['3.2', 32, 216000, 5120],
  ['4.0', 40, 245760, 8192],
  ['4.2', 42, 522240, 8704],
  ['5.0', 50, 589824, 22080],
  ['5.1', 51, 983040, 36864],
  ['5.2', 52, 2073600, 36864],
];

const PROFILE_IDC: Record<Profile['h264Profile'], string> = { baseline: '42e0', main: '4d40', high: '6400' };

/** Picks the H.264 level of a rendition; it is set explicitly so the master playlist's CODECS matches. */
export function h264Level(width: number, height: number, fps: number): { name: string; idc: number } {
  const frameMbs = Math.ceil(width / 16) * Math.ceil(height / 16);
  const found = LEVELS.find(([, , perSecond, perFrame]) => frameMbs <= perFrame && frameMbs * fps <= perSecond);
  const [name, idc] = found ?? LEVELS[LEVELS.length - 1];
  return { name, idc };
}

export function outputFps(profile: Profile, source?: ProbeResult): number {
  const sourceFps = source?.video?.fps ?? 0;
  return sourceFps > 0 ? Math.min(profile.fps, sourceFps) : profile.fps;
}

export function codecsAttribute(profile: Profile, fps: number, withAudio: boolean): string {
  const level = h264Level(profile.width, profile.height, fps);
  const video = `avc1.${PROFILE_IDC[profile.h264Profile]}${level.idc.toString(16).padStart(2, '0')}`;
  return withAudio ? `${video},mp4a.40.2` : video;
}

/** Writes the master playlist: one variant per profile with BANDWIDTH, RESOLUTION and CODECS. */
export function masterPlaylist(profiles: Profile[], source: ProbeResult | undefined): string {
  const withAudio = Boolean(source?.audio);
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const profile of profiles) {
    const fps = outputFps(profile, source);
    const audioKbps = withAudio ? profile.audioBitrateKbps : 0;
    // Peak rate plus about 10 % for MPEG-TS packaging.
    const bandwidth = Math.round((profile.maxrateKbps + audioKbps) * 1100);
    const average = Math.round((profile.videoBitrateKbps + audioKbps) * 1100);
    lines.push(
      `#EXT-X-STREAM-INF:BANDWIDTH=${bandwidth},AVERAGE-BANDWIDTH=${average},RESOLUTION=${profile.width}x${profile.height},` +
        `FRAME-RATE=${fps.toFixed(3)},CODECS="${codecsAttribute(profile, fps, withAudio)}"`,
      `${profile.id}/index.m3u8`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Builds the ffmpeg arguments of one job: one process, one split and scale branch per rendition. */
export function transcodeArgs(job: TranscodeJobData, mediaRoot: string, source: ProbeResult | undefined): string[] {
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'warning', '-nostats', '-progress', 'pipe:1', '-stats_period', '1'];
  if (job.realtime) args.push('-re');
  args.push(...liveInputArgs(job.source), '-i', job.source);
  if (job.kind !== 'record' && job.profiles.length > 0) args.push(...ladderArgs(job, mediaRoot, source));
  if (job.recordPath) args.push(...recordArgs(join(mediaRoot, job.recordPath), source));
  return args;
}

function ladderArgs(job: TranscodeJobData, mediaRoot: string, source: ProbeResult | undefined): string[] {
  const count = job.profiles.length;
  const splits = job.profiles.map((_, index) => `[s${index}]`).join('');
  const branches = job.profiles.map(
    (profile, index) => `[s${index}]fps=${outputFps(profile, source)},scale=${profile.width}:${profile.height},setsar=1,format=yuv420p[v${index}]`,
  );
  const graph = [`[0:v:0]split=${count}${splits}`, ...branches].join(';');
  const args = ['-filter_complex', graph];
  job.profiles.forEach((profile, index) => {
    args.push(...renditionArgs(job, profile, index, join(mediaRoot, job.outputDir, profile.id), source));
  });
  return args;
}

function renditionArgs(job: TranscodeJobData, profile: Profile, index: number, dir: string, source: ProbeResult | undefined): string[] {
  const fps = outputFps(profile, source);
  const gop = Math.max(1, Math.round(fps * profile.keyframeIntervalSeconds));
  const segment = job.hls.segmentSeconds;
  const push = job.rtmpPush.find((item) => item.profileId === profile.id);
  const args = ['-map', `[v${index}]`];
  if (source?.audio) args.push('-map', '0:a:0');
  args.push(
    '-c:v', 'libx264', '-preset', profile.preset, '-profile:v', profile.h264Profile,
    '-level:v', h264Level(profile.width, profile.height, fps).name,
    '-b:v', `${profile.videoBitrateKbps}k`, '-maxrate', `${profile.maxrateKbps}k`, '-bufsize', `${profile.bufsizeKbps}k`,
    '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0',
    '-force_key_frames', `expr:gte(t,n_forced*${segment})`,
  );
  if (source?.audio) args.push('-c:a', 'aac', '-b:a', `${profile.audioBitrateKbps}k`, '-ac', '2');
  const hls = hlsOptions(job, dir);
  if (!push) return [...args, '-f', 'hls', ...hls.flat, join(dir, 'index.m3u8')];
  // The tee muxer sends the same encoded rendition to HLS and to the RTMP target; FLV needs the
  // codec headers out of band, so they go global and are repeated in-band for MPEG-TS.
  const hlsSlave = `[f=hls:${hls.tee}:bsfs/v=dump_extra=freq=keyframe]${escapeTee(join(dir, 'index.m3u8'))}`;
  const rtmpSlave = `[f=flv:onfail=ignore]${escapeTee(push.url)}`;
  return [...args, '-flags:v', '+global_header', '-f', 'tee', `${hlsSlave}|${rtmpSlave}`];
}

function hlsOptions(job: TranscodeJobData, dir: string): { flat: string[]; tee: string } {
  const vod = job.kind === 'vod';
  const options: [string, string][] = [
    ['hls_time', String(job.hls.segmentSeconds)],
    ['hls_list_size', vod ? '0' : String(job.hls.playlistSize)],
    ['hls_flags', vod ? 'independent_segments' : 'independent_segments+delete_segments'],
    ['hls_segment_filename', join(dir, 'seg_%05d.ts')],
  ];
  if (vod) options.push(['hls_playlist_type', 'vod']);
  return {
    flat: options.flatMap(([name, value]) => [`-${name}`, value]),
    tee: options.map(([name, value]) => `${name}=${escapeTeeOption(value)}`).join(':'),
  };
}

function recordArgs(path: string, source: ProbeResult | undefined): string[] {
  const maps = ['-map', '0:v:0'];
  if (source?.audio) maps.push('-map', '0:a:0');
  // Fragmented MP4 stays playable even when ffmpeg is killed before writing a trailer.
  return [...maps, '-c', 'copy', '-f', 'mp4', '-movflags', '+frag_keyframe+empty_moov+default_base_moof', path];
}

function escapeTee(value: string): string {
  return value.replace(/([\\|[\]])/g, '\\$1');
}

function escapeTeeOption(value: string): string {
  return value.replace(/([\\:|[\]])/g, '\\$1');
}
