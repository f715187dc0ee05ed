import type { ServiceName } from '@castplane/contracts';

/** The start steps, in the order they run. Rollback runs the completed ones in reverse. */
export const START_STEPS = ['stream', 'room', 'transcode', 'broadcast', 'host_token'] as const;
export type StartStepName = (typeof START_STEPS)[number];

/** The stop steps, in the order they run. Recordings are kept: nothing is deleted. */
export const STOP_STEPS = ['transcode_stop', 'unpublish', 'room_end', 'broadcast_stop'] as const;
export type StopStepName = (typeof STOP_STEPS)[number];

export type StepState =
  | 'pending'
  | 'running'
  | 'retrying'
  | 'completed'
  | 'skipped'
  | 'failed'
  | 'compensating'
  | 'compensated'
  | 'compensation_failed';

export type OrchestrationStatus = 'starting' | 'ready' | 'rolling_back' | 'failed' | 'stopping' | 'stopped' | 'stop_failed';

export const TERMINAL_STATUSES: readonly OrchestrationStatus[] = ['ready', 'failed', 'stopped', 'stop_failed'];

export interface StepError {
  code: string;
  message: string;
}

export interface StepRecord {
  name: string;
  service: ServiceName;
  command: string;
  state: StepState;
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
  error?: StepError;
  /** The command's result; may contain secrets (stream key, token), so views redact it. */
  result?: Record<string, unknown>;
  compensation?: { command: string; attempts: number; error?: StepError };
}

export interface OrchestrationRequest {
  name: string;
  title: string;
  app: string;
  profiles: string[];
  record: boolean;
  hostIdentity: string;
  room: { name: string; emptyTimeout?: number; maxParticipants?: number; metadata?: string };
}

export interface Orchestration {
  id: string;
  status: OrchestrationStatus;
  request: OrchestrationRequest;
  createdAt: string;
  updatedAt: string;
  steps: StepRecord[];
  stopSteps: StepRecord[];
  failedStep?: string;
  error?: StepError;
  idempotencyKey?: string;
}

export interface HistoryEntry {
  time: string;
  type: string;
  detail?: Record<string, unknown>;
}
