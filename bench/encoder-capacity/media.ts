// Helpers shared by the encoder benchmarks: test media, child processes, medians.
import { spawn } from 'node:child_process';

/** Writes a test pattern with a tone, encoded like a camera upload. */
export async function generateClip(path: string, options: { seconds: number; width: number; height: number; fps: number }): Promise<string> {
  await runToExit('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${options.width}x${options.height}:rate=${options.fps}`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(options.seconds),
    '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', '4000k', '-pix_fmt', 'yuv420p', '-g', String(options.fps * 2),
    '-c:a', 'aac', '-b:a', '128k', path,
  ]);
  return path;
}

/** Runs a command to its end and fails with its last stderr line on a non-zero exit. */
export function runToExit(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}: ${stderr.trim().split('\n').pop()}`))));
  });
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
