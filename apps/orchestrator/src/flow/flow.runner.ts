import type { Job, Queue, Worker } from 'bullmq';

import { AppError } from '@castplane/errors';
import type { ErrorCode } from '@castplane/errors';
import type { Logger } from '@castplane/logging';
import { createQueue, createWorker } from '@castplane/redis';
import type { QueueContext } from '@castplane/redis';

import type { CommandGateway } from '../clients/command.gateway';
import { asAppError } from '../clients/command.gateway';
import type { Orchestration, StepRecord } from '../schemas/orchestration.types';
import type { OrchestrationStore } from '../services/orchestration.store';
import type { StartStep, StepCommand } from './flow-steps';
import { START_FLOW, STOP_FLOW } from './flow-steps';

/** The queue whose jobs drive orchestrations; a restarted worker picks up stalled ones. */
export const FLOW_QUEUE = 'orchestrator-flow';

export type FlowAction = 'start' | 'stop';

export interface FlowSettings {
  stepTimeoutMs: number;
  stepAttempts: number;
  stepBackoffMs: number;
  /** How long a flow job's lock lives; a crashed worker's job is picked up after about this long. */
  lockMs: number;
}

export interface FlowDeps {
  store: OrchestrationStore;
  gateway: CommandGateway;
  queues: QueueContext;
  logger: Logger;
  settings: FlowSettings;
}

class StepFailedError extends Error {
  constructor(
    readonly step: string,
    readonly failure: AppError,
  ) {
    super(`${step} failed: ${failure.message}`);
  }
}

const now = () => new Date().toISOString();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs orchestrations as BullMQ jobs. Every step records its state in Redis before and after its
 * command. Command job ids are built from the orchestration, step and attempt, so a resumed flow
 * waits for the command it had sent instead of sending a second one.
 */
export class FlowRunner {
  readonly queue: Queue;
  private worker?: Worker;

  constructor(private readonly deps: FlowDeps) {
    this.queue = createQueue(deps.queues, FLOW_QUEUE);
  }

  startWorker(concurrency = 4): void {
    const { lockMs } = this.deps.settings;
    this.worker = createWorker(this.deps.queues, FLOW_QUEUE, (job: Job) => this.process(job), {
      concurrency,
      lockDuration: lockMs,
      stalledInterval: lockMs,
      maxStalledCount: 10,
    });
  }

  /**
   * Queues a flow job. A second call with the same orchestration, action and round is a no-op
   * while the first job is kept. A retried stop passes a new round.
   */
  async enqueue(action: FlowAction, id: string, round = 0): Promise<void> {
    await this.queue.add(action, { id }, {
      jobId: round > 0 ? `${action}.${id}.${round}` : `${action}.${id}`,
      attempts: 5,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { age: 3600, count: 1000 },
      removeOnFail: { age: 24 * 3600, count: 1000 },
    });
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }

  private async process(job: Job): Promise<void> {
    const id = String((job.data as { id: string }).id);
    const record = await this.deps.store.get(id);
    if (!record) {
      this.deps.logger.warn('flow job for a missing orchestration', { orchestrationId: id, jobId: job.id });
      return;
    }
    if (job.name === 'start') await this.runStart(record);
    if (job.name === 'stop') await this.runStop(record);
  }

  private async runStart(record: Orchestration): Promise<void> {
    if (record.status === 'starting') {
      try {
        for (const step of START_FLOW) {
          if (await this.deps.store.takeStopRequest(record.id)) return this.stopStarted(record);
          await this.runStartStep(record, step);
        }
        record.status = 'ready';
        await this.deps.store.save(record);
        await this.history(record, 'orchestration.ready');
        if (await this.deps.store.takeStopRequest(record.id)) await this.stopStarted(record);
        return;
      } catch (error) {
        if (!(error instanceof StepFailedError)) throw error;
        record.status = 'rolling_back';
        record.failedStep = error.step;
        record.error = { code: error.failure.code, message: `${error.step} failed: ${error.failure.message}` };
        await this.deps.store.save(record);
        await this.history(record, 'orchestration.rolling_back', { step: error.step, error: error.failure.message });
      }
    }
    if (record.status === 'rolling_back') await this.rollback(record);
  }

  private async runStartStep(record: Orchestration, step: StartStep): Promise<void> {
    const entry = this.entry(record.steps, step.name);
    if (entry.state === 'completed') return;
    if (entry.state === 'failed') {
      // A crash after the failure was saved but before the rollback began: roll back, do not retry.
      const code = (entry.error?.code ?? 'internal') as ErrorCode;
      throw new StepFailedError(entry.name, new AppError(code, entry.error?.message ?? 'the step failed'));
    }
    const command = { service: step.service, command: step.command, payload: step.payload(record) };
    entry.result = await this.runCommand(record, entry, command);
  }

  /**
   * Sends one step's command with retries. The attempt counter is saved before each send. A step
   * found `running` after a crash waits on the same job id, which returns the finished job's
   * result or keeps waiting for it.
   */
  private async runCommand(record: Orchestration, entry: StepRecord, command: StepCommand): Promise<Record<string, unknown>> {
    const { stepAttempts, stepBackoffMs, stepTimeoutMs } = this.deps.settings;
    for (;;) {
      if (entry.state !== 'running') {
        entry.attempts += 1;
        entry.state = 'running';
        entry.startedAt ??= now();
        await this.deps.store.save(record);
      }
      try {
        const jobId = `${record.id}.${entry.name}.${entry.attempts}`;
        const result = await this.deps.gateway.send(command, { jobId, timeoutMs: stepTimeoutMs });
        Object.assign(entry, { state: 'completed', finishedAt: now(), error: undefined });
        entry.result = result;
        await this.deps.store.save(record);
        await this.history(record, 'step.completed', { step: entry.name, attempts: entry.attempts });
        return result;
      } catch (error) {
        const failure = asAppError(error);
        entry.error = { code: failure.code, message: failure.message };
        const retryable = failure.status >= 500 && entry.attempts < stepAttempts;
        entry.state = retryable ? 'retrying' : 'failed';
        if (!retryable) entry.finishedAt = now();
        await this.deps.store.save(record);
        this.deps.logger.warn('orchestration step failed', {
          orchestrationId: record.id,
          step: entry.name,
          attempt: entry.attempts,
          retrying: retryable,
          err: failure.message,
        });
        await this.history(record, retryable ? 'step.retrying' : 'step.failed', { step: entry.name, attempt: entry.attempts, error: failure.message });
        if (!retryable) throw new StepFailedError(entry.name, failure);
        await sleep(stepBackoffMs * 2 ** (entry.attempts - 1));
      }
    }
  }

  /** Hands an orchestration whose stop was requested during its start over to the stop flow. */
  private async stopStarted(record: Orchestration): Promise<void> {
    record.status = 'stopping';
    await this.deps.store.save(record);
    await this.history(record, 'orchestration.stopping');
    await this.enqueue('stop', record.id);
  }

  /** Undoes the completed start steps in reverse order; a missing resource counts as undone. */
  private async rollback(record: Orchestration): Promise<void> {
    for (const step of [...START_FLOW].reverse()) {
      const entry = this.entry(record.steps, step.name);
      if (!step.compensate || !['completed', 'compensating'].includes(entry.state)) continue;
      await this.compensate(record, entry, step.compensate(record));
    }
    record.status = 'failed';
    await this.deps.store.save(record);
    await this.history(record, 'orchestration.failed', { step: record.failedStep, error: record.error?.message });
  }

  private async compensate(record: Orchestration, entry: StepRecord, command: StepCommand): Promise<void> {
    const { stepAttempts, stepBackoffMs, stepTimeoutMs } = this.deps.settings;
    const compensation = (entry.compensation ??= { command: command.command, attempts: 0 });
    entry.state = 'compensating';
    while (compensation.attempts < stepAttempts) {
      compensation.attempts += 1;
      await this.deps.store.save(record);
      try {
        const jobId = `${record.id}.${entry.name}.undo.${compensation.attempts}`;
        await this.deps.gateway.send(command, { jobId, timeoutMs: stepTimeoutMs });
        entry.state = 'compensated';
        break;
      } catch (error) {
        const failure = asAppError(error);
        if (failure.code === 'not_found') {
          entry.state = 'compensated';
          break;
        }
        compensation.error = { code: failure.code, message: failure.message };
        if (failure.status < 500) break;
        await sleep(stepBackoffMs * 2 ** (compensation.attempts - 1));
      }
    }
    if (entry.state !== 'compensated') entry.state = 'compensation_failed';
    await this.deps.store.save(record);
    await this.history(record, `step.${entry.state}`, { step: entry.name, error: compensation.error?.message });
  }

  /**
   * Tears the event down in order. A step whose resource is already gone (not found, or not in a
   * state to stop) counts as skipped. Other failures are recorded and the teardown goes on.
   */
  private async runStop(record: Orchestration): Promise<void> {
    if (record.status !== 'stopping') return;
    for (const step of STOP_FLOW) {
      const entry = this.entry(record.stopSteps, step.name);
      if (['completed', 'skipped', 'failed'].includes(entry.state)) continue;
      const payload = step.payload(record);
      if (!payload) {
        entry.state = 'skipped';
        continue;
      }
      try {
        entry.result = await this.runCommand(record, entry, { service: step.service, command: step.command, payload });
      } catch (error) {
        if (!(error instanceof StepFailedError)) throw error;
        if (['not_found', 'failed_precondition'].includes(error.failure.code)) entry.state = 'skipped';
        await this.deps.store.save(record);
      }
    }
    const failed = record.stopSteps.some((entry) => entry.state === 'failed');
    record.status = failed ? 'stop_failed' : 'stopped';
    await this.deps.store.save(record);
    await this.history(record, `orchestration.${record.status}`);
  }

  private entry(steps: StepRecord[], name: string): StepRecord {
    const entry = steps.find((candidate) => candidate.name === name);
    if (!entry) throw new Error(`orchestration has no step ${name}`);
    return entry;
  }

  private history(record: Orchestration, type: string, detail?: Record<string, unknown>): Promise<void> {
    return this.deps.store.appendHistory(record.id, { type, detail });
  }
}
