export { backoffDelay, bullConnectionOptions, closeRedis, createRedis, pingRedis, redisOptionsFromUrl } from './connection';
export { CommandClient, serveCommands } from './commands';
export type { CommandHandlers, SendOptions } from './commands';
export { EventPublisher, applyOnce, subscribeEvents } from './events';
export {
  DEFAULT_JOB_OPTIONS,
  createFlowProducer,
  createQueue,
  createQueueEvents,
  createWorker,
  fromJobError,
  toJobError,
} from './queues';
export type { QueueContext } from './queues';
export type { default as Redis } from 'ioredis';
