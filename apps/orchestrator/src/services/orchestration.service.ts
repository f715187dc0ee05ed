import { createHash, randomBytes } from 'node:crypto';

import { AppError, failedPrecondition, notFound } from '@castplane/errors';

import type { CommandGateway } from '../clients/command.gateway';
import { resultOf } from '../flow/flow-steps';
import { START_FLOW, STOP_FLOW } from '../flow/flow-steps';
import type { FlowRunner } from '../flow/flow.runner';
import type { Orchestration, OrchestrationRequest, StepRecord } from '../schemas/orchestration.types';
import { TERMINAL_STATUSES } from '../schemas/orchestration.types';
import type { OrchestrationStore } from './orchestration.store';

export interface OrchestrationServiceDeps {
  store: OrchestrationStore;
  flow: FlowRunner;
  gateway: CommandGateway;
  mediaPublicUrl: string;
  stepTimeoutMs: number;
}

/** Stable fingerprint of a start request, to tell a retried request from a different one. */
function fingerprintOf(request: OrchestrationRequest): string {
  return createHash('sha256').update(JSON.stringify(request)).digest('hex');
}

function pendingSteps(steps: { name: string; service: StepRecord['service']; command: string }[]): StepRecord[] {
  return steps.map(({ name, service, command }) => ({ name, service, command, state: 'pending', attempts: 0 }));
}

/** Starts, stops and describes orchestrations; the flow itself runs in {@link FlowRunner}. */
export class OrchestrationService {
  constructor(private readonly deps: OrchestrationServiceDeps) {}

  /** Creates an orchestration and queues its flow, or returns the one created under the same key. */
  async start(request: OrchestrationRequest, idempotencyKey?: string): Promise<{ record: Orchestration; created: boolean }> {
    const time = new Date().toISOString();
    const record: Orchestration = {
      id: `orc_${randomBytes(8).toString('hex')}`,
      status: 'starting',
      request,
      createdAt: time,
      updatedAt: time,
      steps: pendingSteps(START_FLOW),
      stopSteps: pendingSteps(STOP_FLOW),
      idempotencyKey,
    };
    const fingerprint = fingerprintOf(request);
    const outcome = await this.deps.store.create(record, fingerprint);
    if (!outcome.created && outcome.fingerprint !== fingerprint) {
      throw new AppError('unprocessable_entity', 'Idempotency-Key was already used with a different request body', {
        details: [{ field: 'headers.idempotency-key', message: 'already used with a different request body' }],
      });
    }
    // A retried request re-queues too: enqueue is a no-op while the first flow job exists.
    await this.deps.flow.enqueue('start', outcome.id);
    return { record: await this.require(outcome.id), created: outcome.created };
  }

  /**
   * Stops an orchestration. One still starting finishes the step in progress, then its start
   * flow hands over to the stop flow, which undoes only the steps that completed.
   */
  async stop(id: string): Promise<Orchestration> {
    let record = await this.require(id);
    if (record.status === 'starting') {
      await this.deps.store.requestStop(id);
      await this.deps.store.appendHistory(id, { type: 'orchestration.stop_requested' });
      // The start flow takes the request before each step and once it is ready. When the flow
      // became ready first, the route or the flow takes the request, and the taker stops it.
      record = await this.require(id);
      if (record.status !== 'ready' || !(await this.deps.store.takeStopRequest(id))) return record;
    }
    if (record.status === 'rolling_back') {
      throw failedPrecondition(`orchestration ${id} is rolling back and ends as failed with nothing left to stop`, 'orchestration_busy');
    }
    if (record.status === 'failed') {
      throw failedPrecondition(`orchestration ${id} failed and was rolled back; there is nothing to stop`, 'orchestration_failed');
    }
    let round = 0;
    if (record.status === 'stop_failed') {
      // Retry only the stop steps that failed. Their attempt counters keep counting, so each
      // gets one more attempt per retried stop.
      for (const step of record.stopSteps) if (step.state === 'failed') step.state = 'pending';
      round = record.stopSteps.reduce((total, step) => total + step.attempts, 0);
    }
    if (record.status === 'ready' || record.status === 'stop_failed') {
      record.status = 'stopping';
      await this.deps.store.save(record);
      await this.deps.store.appendHistory(id, { type: 'orchestration.stopping' });
    }
    await this.deps.flow.enqueue('stop', id, round);
    return record;
  }

  async require(id: string): Promise<Orchestration> {
    const record = await this.deps.store.get(id);
    if (!record) throw notFound('orchestration', id);
    return record;
  }

  /** Polls until the orchestration is `ready`, `failed`, `stopped` or `stop_failed`, or the timeout passes. */
  async waitForSettled(id: string, timeoutMs: number): Promise<Orchestration> {
    const deadline = Date.now() + timeoutMs;
    let record = await this.require(id);
    while (!TERMINAL_STATUSES.includes(record.status) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      record = await this.require(id);
    }
    return record;
  }

  /**
   * Builds the full view of one orchestration: URLs, media state and history, plus the RTMP
   * publish URL (which carries the stream key) and the host token when `withSecrets` is set.
   */
  async view(record: Orchestration, withSecrets = true) {
    const stream = resultOf(record, 'stream');
    const [media, history] = await Promise.all([this.deps.store.media(record.id), this.deps.store.history(record.id)]);
    const transcode = resultOf(record, 'transcode');
    const playlist = media.masterPlaylistPath ?? (transcode.masterPlaylistPath as string | undefined);
    return {
      ...this.summary(record),
      urls: {
        rtmp: withSecrets ? stream.rtmpUrl : undefined,
        hls: stream.hlsUrl,
        flv: stream.flvUrl,
        masterPlaylist: playlist ? `${this.deps.mediaPublicUrl.replace(/\/$/, '')}/${playlist.replace(/^\//, '')}` : undefined,
        room: record.request.room.name,
        signal: resultOf(record, 'host_token').signalUrl,
      },
      hostToken: withSecrets ? resultOf(record, 'host_token').token : undefined,
      media,
      history,
    };
  }

  /** Builds a view without secrets (no RTMP URL with its key, no token) for lists. */
  summary(record: Orchestration) {
    return {
      id: record.id,
      status: record.status,
      name: record.request.name,
      title: record.request.title,
      room: record.request.room.name,
      profiles: record.request.profiles,
      record: record.request.record,
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
      failedStep: record.failedStep,
      error: record.error,
      steps: record.steps.map(redactStep),
      stopSteps: record.stopSteps.map(redactStep),
      statusUrl: `/api/stream/orchestrate/status?id=${record.id}`,
    };
  }

  async list(limit: number, offset: number) {
    const { records, total } = await this.deps.store.list(limit, offset);
    return { orchestrations: records.map((record) => this.summary(record)), total, offset, limit };
  }

  /** Issues another token for the orchestration's room (for viewers or extra hosts). */
  async issueToken(id: string, identity: string, role: 'host' | 'viewer', ttlSeconds?: number) {
    const record = await this.require(id);
    if (record.status !== 'ready') {
      throw failedPrecondition(`orchestration ${id} is ${record.status}; tokens are issued only while it is ready`, 'orchestration_not_ready');
    }
    const payload = { roomName: record.request.room.name, identity, role, ...(ttlSeconds ? { ttlSeconds } : {}) };
    return this.deps.gateway.send(
      { service: 'livekit-sdk', command: 'token.issue', payload },
      { jobId: `${id}.token.${randomBytes(6).toString('hex')}`, timeoutMs: this.deps.stepTimeoutMs },
    );
  }
}

const SECRET_FIELDS = new Set(['streamKey', 'token', 'rtmpUrl']);

function redactStep(step: StepRecord) {
  const result = step.result
    ? Object.fromEntries(Object.entries(step.result).filter(([key]) => !SECRET_FIELDS.has(key)))
    : undefined;
  return { ...step, result };
}
