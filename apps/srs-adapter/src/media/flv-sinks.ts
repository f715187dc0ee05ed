import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, renameSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { dirname } from 'node:path';

import { BaseSession, nmsContext } from './nms';
import type { NmsBroadcast } from './nms';

/**
 * An internal subscriber of a node-media-server broadcast: it receives the FLV tags of the live
 * stream. An empty `ip` keeps node-media-server from emitting play events for it.
 */
abstract class FlvSink extends BaseSession {
  private broadcast?: NmsBroadcast;
  firstMs = -1;
  lastMs = -1;

  constructor(readonly path: string) {
    super();
    this.ip = '';
    this.protocol = 'flv';
    this.streamPath = path;
  }

  attach(): boolean {
    const broadcast = nmsContext.broadcasts.get(this.path);
    if (!broadcast) return false;
    this.broadcast = broadcast;
    broadcast.postPlay(this);
    return true;
  }

  detach(): void {
    this.broadcast?.donePlay(this);
    this.broadcast = undefined;
  }

  override sendBuffer = (buffer: Buffer): void => {
    // FLV tags carry a 24+8 bit millisecond timestamp at bytes 4-7; the file header is no tag.
    if ((buffer[0] === 8 || buffer[0] === 9) && buffer.length >= 11) {
      const ms = (buffer[7] << 24) | (buffer[4] << 16) | (buffer[5] << 8) | buffer[6];
      if (this.firstMs < 0) this.firstMs = ms;
      this.lastMs = Math.max(this.lastMs, ms);
    }
    this.outBytes += buffer.length;
    this.write(buffer);
  };

  protected abstract write(buffer: Buffer): void;
}

/** Records a live stream to `<file>.tmp` and renames it to `<file>` when stopped. */
export class FlvRecorder extends FlvSink {
  private readonly output: WriteStream;

  constructor(path: string, readonly file: string) {
    super(path);
    mkdirSync(dirname(file), { recursive: true });
    this.output = createWriteStream(`${file}.tmp`);
  }

  protected write(buffer: Buffer): void {
    this.output.write(buffer);
  }

  /** Closes and renames the file; resolves with the recorded duration in seconds. */
  async stop(): Promise<number> {
    this.detach();
    await new Promise<void>((resolve) => this.output.end(resolve));
    renameSync(`${this.file}.tmp`, this.file);
    return this.lastMs > this.firstMs ? (this.lastMs - this.firstMs) / 1000 : 0;
  }
}

/** Pipes a live stream into an ffmpeg that remuxes it (`-c copy`) to an HLS playlist. */
export class HlsRemuxer extends FlvSink {
  private readonly child: ChildProcess;
  private exited: Promise<void>;

  constructor(path: string, options: { ffmpeg: string; playlist: string; segmentSeconds: number; listSize: number }) {
    super(path);
    mkdirSync(dirname(options.playlist), { recursive: true });
    const segments = options.playlist.replace(/\.m3u8$/, '-%d.ts');
    this.child = spawn(options.ffmpeg, [
      '-hide_banner', '-loglevel', 'error', '-f', 'flv', '-i', 'pipe:0', '-c', 'copy',
      '-f', 'hls', '-hls_time', String(options.segmentSeconds), '-hls_list_size', String(options.listSize),
      '-hls_flags', 'delete_segments+temp_file+independent_segments', '-hls_segment_filename', segments, options.playlist,
    ], { stdio: ['pipe', 'ignore', 'ignore'] });
    this.child.stdin?.on('error', () => undefined);
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  protected write(buffer: Buffer): void {
    if (this.child.stdin?.writable) this.child.stdin.write(buffer);
  }

  async stop(): Promise<void> {
    this.detach();
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}
