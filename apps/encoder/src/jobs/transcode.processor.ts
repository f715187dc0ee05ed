import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import type { Job } from 'bullmq';
import { UnrecoverableError, WaitingError } from 'bullmq';
import type Redis from 'ioredis';

import type { Logger } from '@castplane/logging';
import type { EventPublisher } from '@castplane/redis';

import type { FfmpegProgress, FfmpegRun } from '../clients/ffmpeg.runner';
import { runFfmpeg } from '../clients/ffmpeg.runner';
import type { ProbeResult } from '../clients/ffprobe.client';
import { ProbeError, probe } from '../clients/ffprobe.client';
import type { LogBuffer } from '../monitoring/log-buffer';
import type { EncoderKeys } from '../services/redis-keys';
import { masterPlaylist, transcodeArgs } from './ladder.args';
import type { RunningJobs } from './running-jobs';
import type { AuthorizedSource, SourceTokenOptions } from './source-token';
import { authorizeSource, redactSourceText } from './source-token';
import type { StopReason, TranscodeJobData, TranscodeResult } from './transcode.queue';

export const CANCELLED_MESSAGE = 'cancelled on request';

export interface ProcessorDeps {
  mediaRoot: string;
  ffmpegPath: string;
  ffprobePath: string;
  killGraceMs: number;
  jobTimeoutSeconds: number;
  probeTimeoutMs: number;
  redis: Redis;
  keys: EncoderKeys;
  logger: Logger;
  logs: LogBuffer;
  running: RunningJobs;
  publisher: EventPublisher;
  /** Decides which sources are the media server's and signs the service tokens added to them. */
  sourceTokens: SourceTokenOptions;
}

// Errors that will not go away by retrying the same input.
const PERMANENT_INPUT = /No such file|Invalid data found|does not contain any stream|Protocol not found|Permission denied|moov atom not found|could not find codec parameters|Unknown (encoder|decoder)|404 Not Found|403 Forbidden|Invalid argument/i;

/** Runs one transcode job: probe the source, write the master playlist, run ffmpeg to the end. */
export function createProcessor(deps: ProcessorDeps) {
  return async (job: Job<TranscodeJobData, TranscodeResult>, token?: string, signal?: AbortSignal): Promise<TranscodeResult> => {
    const data = job.data;
    const requested = await stopRequest(deps, job.id!);
    if (requested === 'cancel') throw new UnrecoverableError(CANCELLED_MESSAGE);
    if (requested === 'stop') {
      logState(deps, job, 'transcode stopped before it started', {});
      return { outputs: [], stopped: true };
    }

    const source = await probeSource(deps, data);
    const outputs = await prepareOutputs(deps.mediaRoot, data, source);
    // The token is signed for this attempt and lives only in ffmpeg's arguments, never in job data.
    const input = await authorizeSource(data.source, deps.sourceTokens);
    const run = runFfmpeg({
      ffmpegPath: deps.ffmpegPath,
      args: transcodeArgs({ ...data, source: input.url }, deps.mediaRoot, source),
      onProgress: throttleProgress(job, deps),
      onStderrLine: (line) => deps.logs.add({ level: 'warn', source: 'ffmpeg', jobId: job.id, msg: redactSourceText(line, input) }),
    });
    deps.running.add({ jobId: job.id!, kind: data.kind, keyId: data.keyId, pid: run.pid, startedAt: Date.now() });
    logState(deps, job, 'transcode started', { pid: run.pid });
    await publishStarted(deps, job, outputs);

    try {
      const ending = await waitForEnd(deps, job.id!, run, signal);
      return await finish(deps, job, token, { run, input }, ending, outputs);
    } finally {
      deps.running.remove(job.id!);
    }
  };
}

async function probeSource(deps: ProcessorDeps, data: TranscodeJobData): Promise<ProbeResult> {
  if (data.probed?.video) return data.probed;
  const local = !/^[a-z][a-z0-9+.-]*:\/\//i.test(data.source) || data.source.startsWith('file:');
  const input = await authorizeSource(data.source, deps.sourceTokens);
  try {
    const result = await probe(deps.ffprobePath, input.url, deps.probeTimeoutMs);
    if (!result.video) throw new UnrecoverableError('the source has no video stream');
    return result;
  } catch (error) {
    if (!(error instanceof ProbeError)) throw error;
    const message = redactSourceText(error.message, input);
    // A live stream that is not up yet may come back; a file or a permanent error will not.
    throw local || PERMANENT_INPUT.test(error.output) ? new UnrecoverableError(message) : new Error(message);
  }
}

async function prepareOutputs(mediaRoot: string, data: TranscodeJobData, source: ProbeResult): Promise<string[]> {
  const outputs: string[] = [];
  if (data.kind !== 'record' && data.profiles.length > 0) {
    for (const profile of data.profiles) await mkdir(join(mediaRoot, data.outputDir, profile.id), { recursive: true });
    const master = join(data.outputDir, 'master.m3u8');
    await writeFile(join(mediaRoot, master), masterPlaylist(data.profiles, source));
    outputs.push(master, ...data.profiles.map((profile) => join(data.outputDir, profile.id, 'index.m3u8')));
  }
  if (data.recordPath) {
    await mkdir(dirname(join(mediaRoot, data.recordPath)), { recursive: true });
    outputs.push(data.recordPath);
  }
  return outputs;
}

type Ending = { kind: 'exited'; code: number | null } | { kind: 'aborted'; reason: StopReason } | { kind: 'timeout' };

/** How often a running job reads its stop and cancel keys, in case the pub/sub message was lost. */
const STOP_CHECK_MS = 2000;

/** Returns `cancel` or `stop` when one was requested for the job through its Redis keys. */
async function stopRequest(deps: ProcessorDeps, jobId: string): Promise<'cancel' | 'stop' | undefined> {
  const [cancelled, stopped] = await deps.redis.mget(deps.keys.cancelled(jobId), deps.keys.stopRequested(jobId));
  if (cancelled) return 'cancel';
  return stopped ? 'stop' : undefined;
}

// Resolves when ffmpeg exits by itself, or after it was stopped for an abort, a stop or cancel
// key, or the job timeout.
async function waitForEnd(deps: ProcessorDeps, jobId: string, run: FfmpegRun, signal?: AbortSignal): Promise<Ending> {
  let ending: Ending | undefined;
  const stop = (reason: Ending) => {
    ending ??= reason;
    void run.stop(deps.killGraceMs);
  };
  const onAbort = () => stop({ kind: 'aborted', reason: (signal?.reason as StopReason) ?? 'cancel' });
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort);
  const timer = deps.jobTimeoutSeconds > 0 ? setTimeout(() => stop({ kind: 'timeout' }), deps.jobTimeoutSeconds * 1000) : undefined;
  const checker = setInterval(() => {
    stopRequest(deps, jobId)
      .then((requested) => {
        if (requested) stop({ kind: 'aborted', reason: requested });
      })
      .catch((error: Error) => deps.logger.debug('stop request not read', { jobId, err: error.message }));
  }, STOP_CHECK_MS);

  const { code } = await run.exited;
  clearTimeout(timer);
  clearInterval(checker);
  signal?.removeEventListener('abort', onAbort);
  return ending ?? { kind: 'exited', code };
}

async function finish(
  deps: ProcessorDeps,
  job: Job<TranscodeJobData, TranscodeResult>,
  token: string | undefined,
  { run, input }: { run: FfmpegRun; input: AuthorizedSource },
  ending: Ending,
  outputs: string[],
): Promise<TranscodeResult> {
  const masterPlaylistPath = outputs.find((path) => path.endsWith('master.m3u8'));
  if (ending.kind === 'timeout') throw new UnrecoverableError(`timed out after ${deps.jobTimeoutSeconds} s`);
  if (ending.kind === 'aborted') {
    if (ending.reason === 'cancel') throw new UnrecoverableError(CANCELLED_MESSAGE);
    if (ending.reason === 'shutdown') {
      // Hand the job back to the queue untouched so another worker starts it again.
      await job.moveToWait(token);
      logState(deps, job, 'transcode handed back for shutdown', {});
      throw new WaitingError();
    }
    logState(deps, job, 'transcode stopped', {});
    return { outputs, masterPlaylistPath, stopped: true };
  }
  if (ending.code !== 0) throw exitError(ending.code, run.stderrTail(), input);
  logState(deps, job, 'transcode finished', {});
  return { outputs, masterPlaylistPath, stopped: false };
}

function exitError(code: number | null, tail: string[], input: AuthorizedSource): Error {
  const last = redactSourceText(tail[tail.length - 1] ?? 'no output', input);
  const message = `ffmpeg exited with code ${code}: ${last}`;
  return tail.some((line) => PERMANENT_INPUT.test(line)) ? new UnrecoverableError(message) : new Error(message);
}

// Stores progress in the job at most once a second. A block without output time yet (the first
// ones) is always stored, so a job shows progress as soon as ffmpeg reports.
function throttleProgress(job: Job<TranscodeJobData, TranscodeResult>, deps: ProcessorDeps) {
  let last = 0;
  return (progress: FfmpegProgress) => {
    deps.running.update(job.id!, progress);
    const now = Date.now();
    if (now - last < 1000 && progress.outTimeSeconds > 0) return;
    last = now;
    job.updateProgress({ ...progress, updatedAt: new Date(now).toISOString() }).catch((error: unknown) => {
      // A lost progress update is replaced by the next one a second later.
      deps.logger.debug('progress not stored', { jobId: job.id, err: error instanceof Error ? error.message : String(error) });
    });
  };
}

async function publishStarted(deps: ProcessorDeps, job: Job<TranscodeJobData>, outputs: string[]): Promise<void> {
  const { app, name } = eventSubject(job.data);
  const masterPlaylistPath = outputs.find((path) => path.endsWith('master.m3u8')) ?? outputs[0] ?? '';
  const id = `${job.id}-started-${job.attemptsStarted}`;
  await deps.publisher.publish('transcode.started', { jobId: job.id!, app, name, masterPlaylistPath }, id).catch((error: Error) => {
    deps.logger.warn('event publish failed', { event: 'transcode.started', jobId: job.id, err: error.message });
  });
}

/** Returns the app and name for events: the stream's, or `vod` and the run id for uploads. */
export function eventSubject(data: TranscodeJobData): { app: string; name: string } {
  return { app: data.app ?? 'vod', name: data.name ?? data.runId };
}

function logState(deps: ProcessorDeps, job: Job<TranscodeJobData>, msg: string, extra: Record<string, unknown>): void {
  const fields = { jobId: job.id, kind: job.data.kind, keyId: job.data.keyId, attempt: job.attemptsMade + 1, ...extra };
  deps.logger.info(msg, fields);
  deps.logs.add({ level: 'info', source: 'service', jobId: job.id, msg: `${msg} (${job.data.kind}, attempt ${fields.attempt})` });
}
