import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

import { Runtime, parseHostList } from '@castplane/http';
import type { RunningService } from '@castplane/http';
import { EventPublisher, createQueue, serveCommands, subscribeEvents } from '@castplane/redis';

import type { EncoderConfig } from './config';
import { SECRETS } from './config';
import { RunningJobs } from './jobs/running-jobs';
import type { TranscodeJobData, TranscodeResult } from './jobs/transcode.queue';
import { TRANSCODE_QUEUE } from './jobs/transcode.queue';
import type { TranscodeWorker } from './jobs/transcode.worker';
import { startTranscodeWorker } from './jobs/transcode.worker';
import { LogBuffer } from './monitoring/log-buffer';
import { configRoutes } from './routes/configs.routes';
import { controlRoutes } from './routes/control.routes';
import { jobRoutes } from './routes/jobs.routes';
import { monitoringRoutes } from './routes/monitoring.routes';
import { profileRoutes } from './routes/profiles.routes';
import { encoderCommands } from './services/commands';
import { JobService } from './services/job.service';
import { MonitoringService } from './services/monitoring.service';
import { ProfileService } from './services/profile.service';
import { encoderKeys } from './services/redis-keys';
import { SettingsService } from './services/settings.service';
import { StreamConfigService } from './services/stream-config.service';
import { StreamEventsService } from './services/stream-events.service';
import { TranscodeService } from './services/transcode.service';
import { UploadService } from './services/upload.service';

export interface StartOptions {
  logStream?: NodeJS.WritableStream;
}

/** Starts the encoder listeners and returns handles for shutdown and tests. */
export async function startEncoder(config: Readonly<EncoderConfig>, options: StartOptions = {}): Promise<RunningService> {
  const runtime = new Runtime({ service: 'encoder', config, secrets: SECRETS, logStream: options.logStream });
  const mediaRoot = resolve(config.MEDIA_ROOT);
  mkdirSync(mediaRoot, { recursive: true });
  const keys = encoderKeys(config.REDIS_KEY_PREFIX);
  const logs = new LogBuffer(config.ENCODER_LOG_BUFFER_LINES);
  const running = new RunningJobs();
  const queue = createQueue<TranscodeJobData, TranscodeResult>(runtime.queues, TRANSCODE_QUEUE);
  const publisher = new EventPublisher(runtime.queues, 'encoder');

  const jobs = new JobService(queue, runtime.redis, keys, runtime.logger, { attempts: config.ENCODER_JOB_ATTEMPTS, backoffMs: config.ENCODER_JOB_BACKOFF_MS });
  const settings = new SettingsService(runtime.redis, keys);
  const profiles = new ProfileService(runtime.redis, keys, () => jobs.profilesInUse());
  settings.attachProfiles(profiles);
  const outbound = {
    policy: { allowList: parseHostList(config.ENCODER_ALLOWED_HOSTS), setting: 'ENCODER_ALLOWED_HOSTS' },
    mediaServer: config.MEDIA_RTMP_URL,
  };
  const configs = new StreamConfigService(runtime.redis, keys, profiles, settings, mediaRoot, outbound);
  const transcodes = new TranscodeService(runtime.redis, keys, configs, jobs, runtime.logger, config.MEDIA_RTMP_URL);
  const streamEvents = new StreamEventsService(runtime.redis, config.REDIS_KEY_PREFIX, keys, configs, transcodes, runtime.logger);
  const uploads = new UploadService(
    { mediaRoot, maxBytes: config.ENCODER_MAX_UPLOAD_BYTES, ffprobePath: config.FFPROBE_PATH, probeTimeoutMs: config.ENCODER_PROBE_TIMEOUT_MS },
    profiles, settings, jobs,
  );
  if (await profiles.seedDefaults()) runtime.logger.info('default profiles seeded');

  const worker = config.ENCODER_WORKERS_ENABLED ? startWorker(runtime, config, { mediaRoot, keys, logs, running, publisher, transcodes }) : undefined;
  const monitoring = new MonitoringService({ queue, redis: runtime.redis, running, worker, ffmpegPath: config.FFMPEG_PATH, concurrency: config.ENCODER_WORKER_CONCURRENCY });
  const commandWorker = serveCommands(runtime.queues, 'encoder', encoderCommands({ configs, transcodes, jobs, settings }));
  const eventWorker = subscribeEvents(runtime.queues, 'encoder', (event) => streamEvents.handle(event));

  const readiness = [{ name: 'ffmpeg', check: () => monitoring.requireFfmpeg() }];
  const apiRoutes = [...profileRoutes(profiles), ...configRoutes(configs), ...controlRoutes(transcodes), ...jobRoutes(jobs, uploads)];
  await runtime.listen('api', runtime.createApp('api', apiRoutes, { readiness }), config.ENCODER_API_PORT);
  await runtime.listen('monitoring', runtime.createApp('monitoring', monitoringRoutes(monitoring, logs), { readiness }), config.ENCODER_MONITORING_PORT);

  runtime.shutdown.register('command and event workers', () => Promise.allSettled([commandWorker.close(), eventWorker.close()]));
  if (worker) runtime.shutdown.register('transcode worker', () => worker.close());
  runtime.shutdown.register('queues', () => Promise.allSettled([queue.close(), publisher.close()]));
  runtime.closeRedisLast();
  logs.add({ level: 'info', source: 'service', msg: `encoder started (workers ${worker ? 'enabled' : 'disabled'})` });
  return runtime;
}

function startWorker(
  runtime: Runtime,
  config: Readonly<EncoderConfig>,
  parts: Pick<Parameters<typeof startTranscodeWorker>[0], 'mediaRoot' | 'keys' | 'logs' | 'running' | 'publisher'> & { transcodes: TranscodeService },
): TranscodeWorker {
  return startTranscodeWorker({
    ...parts,
    queues: runtime.queues,
    redis: runtime.redis,
    logger: runtime.logger,
    ffmpegPath: config.FFMPEG_PATH,
    ffprobePath: config.FFPROBE_PATH,
    killGraceMs: config.ENCODER_KILL_GRACE_MS,
    jobTimeoutSeconds: config.ENCODER_JOB_TIMEOUT_SECONDS,
    probeTimeoutMs: config.ENCODER_PROBE_TIMEOUT_MS,
    concurrency: config.ENCODER_WORKER_CONCURRENCY,
    lockDurationMs: config.ENCODER_LOCK_DURATION_MS,
    stalledIntervalMs: config.ENCODER_STALLED_INTERVAL_MS,
    onRunEnded: (keyId, jobId) => parts.transcodes.clearRun(keyId, jobId),
    sourceTokens: { mediaRtmpUrl: config.MEDIA_RTMP_URL, secret: config.AUTH_JWT_SECRET, issuer: config.AUTH_JWT_ISSUER },
  });
}
