import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

/** Progress fields from ffmpeg's `-progress` output. */
export interface FfmpegProgress {
  frame: number;
  fps: number;
  /** Encoding speed relative to real time (1.0 = real time). */
  speed: number;
  bitrateKbps: number | null;
  outTimeSeconds: number;
}

export interface FfmpegRun {
  pid: number;
  /** Resolves with the exit code (or null when killed by a signal) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last lines ffmpeg wrote to stderr, oldest first. */
  stderrTail(): string[];
  /** Sends SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs: number): Promise<void>;
}

export interface RunOptions {
  ffmpegPath: string;
  args: string[];
  onProgress?: (progress: FfmpegProgress) => void;
  onStderrLine?: (line: string) => void;
  tailLines?: number;
}

/** Starts ffmpeg with an argument array (no shell) and reads `-progress pipe:1` from stdout. */
export function runFfmpeg(options: RunOptions): FfmpegRun {
  const child = spawn(options.ffmpegPath, options.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  const tailLines = options.tailLines ?? 40;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (error) => {
      tail.push(`failed to start ffmpeg: ${error.message}`);
      resolve({ code: -1, signal: null });
    });
    child.once('close', (code, signal) => resolve({ code, signal }));
  });

  readLines(child.stderr!, (line) => {
    tail.push(line);
    if (tail.length > tailLines) tail.shift();
    options.onStderrLine?.(line);
  });
  readProgress(child, options.onProgress);

  return {
    pid: child.pid ?? -1,
    exited,
    stderrTail: () => [...tail],
    stop: (graceMs) => stopChild(child, exited, graceMs),
  };
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

function readLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffer = '';
  stream.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    const lines = buffer.split(/\r?\n|\r/);
    buffer = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) onLine(line.trim());
  });
}

// ffmpeg writes blocks of key=value lines, each ended by `progress=continue` or `progress=end`.
function readProgress(child: ChildProcess, onProgress?: (progress: FfmpegProgress) => void): void {
  let block: Record<string, string> = {};
  readLines(child.stdout!, (line) => {
    const separator = line.indexOf('=');
    if (separator < 0) return;
    const key = line.slice(0, separator).trim();
    block[key] = line.slice(separator + 1).trim();
    if (key !== 'progress') return;
    onProgress?.(parseProgress(block));
    block = {};
  });
}

export function parseProgress(block: Record<string, string>): FfmpegProgress {
  const bitrate = Number.parseFloat(block.bitrate ?? '');
  const outTimeUs = Number(block.out_time_us ?? block.out_time_ms ?? 0);
  return {
    frame: Number(block.frame ?? 0) || 0,
    fps: Number.parseFloat(block.fps ?? '0') || 0,
    speed: Number.parseFloat(block.speed ?? '0') || 0,
    bitrateKbps: Number.isFinite(bitrate) ? bitrate : null,
    outTimeSeconds: Number.isFinite(outTimeUs) && outTimeUs > 0 ? Math.round(outTimeUs / 1000) / 1000 : 0,
  };
}
