import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

import type { NextFunction, Request, RequestHandler, Response } from 'express';
import multer from 'multer';

import { AppError } from '@castplane/errors';

import { ProbeError, probe } from '../clients/ffprobe.client';
import type { TranscodeJobData } from '../jobs/transcode.queue';
import type { JobService } from './job.service';
import type { ProfileService } from './profile.service';
import type { SettingsService } from './settings.service';
import { newRunId } from './transcode.service';

export interface UploadOptions {
  mediaRoot: string;
  maxBytes: number;
  ffprobePath: string;
  probeTimeoutMs: number;
}

/** Accepts a media file upload and queues its HLS VOD ladder. */
export class UploadService {
  readonly dir: string;
  /** Uploaded files a queued job now owns; the job deletes them when it ends. */
  private readonly handedToJobs = new Set<string>();

  constructor(
    private readonly options: UploadOptions,
    private readonly profiles: ProfileService,
    private readonly settings: SettingsService,
    private readonly jobs: JobService,
  ) {
    // Uploads are stored under the media root because the worker that transcodes them may run in
    // another replica. The folder name starts with a dot, so srs-adapter's `/media` route (and
    // express.static's default) does not serve it. A web server in front of MEDIA_ROOT must also
    // reject dot-folders.
    this.dir = join(options.mediaRoot, '.uploads');
    mkdirSync(this.dir, { recursive: true });
  }

  /** Builds the multer middleware that writes one `file` field to disk and turns its errors into 400/413/415 envelopes. */
  middleware(): RequestHandler {
    const upload = multer({
      storage: multer.diskStorage({ destination: this.dir, filename: (_req, _file, done) => done(null, randomBytes(12).toString('hex')) }),
      limits: { fileSize: this.options.maxBytes, files: 1, fields: 10, fieldSize: 4096 },
    }).single('file');
    return (req: Request, res: Response, next: NextFunction) => {
      if (!req.is('multipart/form-data')) {
        next(new AppError('unsupported_media_type', 'Content-Type must be multipart/form-data', { details: [{ field: 'headers.content-type', message: 'expected multipart/form-data' }] }));
        return;
      }
      upload(req, res, (error: unknown) => {
        if (req.file) this.removeUnlessQueued(req.file.path, res);
        next(error ? uploadError(error, this.options.maxBytes) : undefined);
      });
    };
  }

  /**
   * Deletes the uploaded file once the response is over unless a job took it, so a request rejected
   * at any step (validation, probe, ladder, aborted connection) leaves nothing in the uploads folder.
   */
  private removeUnlessQueued(path: string, res: Response): void {
    res.once('close', () => {
      if (this.handedToJobs.delete(path)) return;
      rm(path, { force: true }).catch(() => undefined);
    });
  }

  async accept(file: Express.Multer.File | undefined, input: { profiles?: string[]; segmentSeconds?: number }) {
    if (!file) throw new AppError('invalid_argument', 'a media file is required in the "file" field', { details: [{ field: 'body.file', message: 'is required' }] });
    try {
      return await this.enqueue(file.path, input);
    } catch (error) {
      await rm(file.path, { force: true });
      throw error;
    }
  }

  private async enqueue(path: string, input: { profiles?: string[]; segmentSeconds?: number }) {
    const source = await this.probeUpload(path);
    const requested = input.profiles ?? ['720p', '480p', '360p'];
    const ladder = (await this.profiles.resolve(requested, 'body.profiles')).sort((a, b) => b.height - a.height);
    const above = ladder.filter((profile) => profile.height > source.height);
    if (above.length > 0) {
      throw new AppError('unprocessable_entity', 'the ladder has renditions above the source resolution', {
        details: above.map((profile) => ({ field: 'body.profiles', message: `profile "${profile.id}" (${profile.height}p) is above the ${source.height}p source` })),
      });
    }
    const runId = newRunId();
    const data: TranscodeJobData = {
      kind: 'vod', runId, source: path, realtime: false, outputDir: `uploads/${runId}`, profiles: ladder,
      hls: { segmentSeconds: input.segmentSeconds ?? (await this.settings.segmentSeconds()), playlistSize: 0 },
      rtmpPush: [], removeSource: true, probed: source.probed,
    };
    this.handedToJobs.add(path);
    const job = await this.jobs.enqueue(data, `vod-${runId}`).catch((error: unknown) => {
      this.handedToJobs.delete(path);
      throw error;
    });
    const { probed: _probed, ...summary } = source;
    return { jobId: job.id!, state: 'queued', masterPlaylistPath: `${data.outputDir}/master.m3u8`, source: summary };
  }

  private async probeUpload(path: string) {
    try {
      const result = await probe(this.options.ffprobePath, path, this.options.probeTimeoutMs);
      if (!result.video) {
        throw new AppError('unprocessable_entity', 'the uploaded file has no video stream', { details: [{ field: 'body.file', message: 'has no video stream' }] });
      }
      return { formatName: result.formatName, durationSeconds: result.durationSeconds, width: result.video.width, height: result.video.height, fps: result.video.fps, audio: Boolean(result.audio), probed: result };
    } catch (error) {
      if (!(error instanceof ProbeError)) throw error;
      throw new AppError('unsupported_media_type', 'the uploaded file is not a media file ffprobe can read', { details: [{ field: 'body.file', message: 'is not a readable media file' }] });
    }
  }
}

function uploadError(error: unknown, maxBytes: number): AppError {
  if (error instanceof multer.MulterError && error.code === 'LIMIT_FILE_SIZE') {
    return new AppError('payload_too_large', `the upload is larger than ${maxBytes} bytes`, { details: [{ field: 'body.file', message: `must be at most ${maxBytes} bytes` }] });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new AppError('invalid_argument', `invalid multipart upload: ${message}`, { details: [{ field: 'body', message }] });
}
