export { SERVICES, SERVICE_NAMES } from './services';
export type { ServiceName } from './services';
export { commandQueueName } from './commands';
export type {
  CommandMap,
  CommandName,
  CommandPayload,
  CommandResult,
  ConfigApply,
  StreamCreated,
} from './commands';
export { EVENT_SUBSCRIBERS, eventQueueName } from './events';
export type { EventEnvelope, EventMap, EventName } from './events';
