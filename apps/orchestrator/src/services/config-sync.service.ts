import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

import type Redis from 'ioredis';
import { parse as parseYaml } from 'yaml';

import type { ServiceName } from '@castplane/contracts';

import type { CommandGateway } from '../clients/command.gateway';
import type { OrchestratorConfig } from '../config';

export const SYNC_TARGETS = ['srs', 'livekit', 'encoder'] as const;
export type SyncTarget = (typeof SYNC_TARGETS)[number];

/** The services that receive each target's settings. */
const SERVICES_OF: Record<SyncTarget, ServiceName[]> = {
  srs: ['srs-adapter'],
  livekit: ['livekit-server', 'livekit-sdk'],
  encoder: ['encoder'],
};

type Settings = Record<string, unknown>;

/**
 * Reads the seed settings: `CONFIG_SYNC_FILE` (JSON or YAML with `srs`, `livekit` and `encoder`
 * objects) when set, otherwise the `CONFIG_SYNC_<TARGET>` JSON variables. Throws on invalid input
 * so startup fails with the variable named.
 */
export function readSeed(config: Readonly<OrchestratorConfig>): Partial<Record<SyncTarget, Settings>> {
  if (config.CONFIG_SYNC_FILE) {
    const parsed = parseYaml(readFileSync(config.CONFIG_SYNC_FILE, 'utf8')) as unknown;
    if (!isObject(parsed)) throw new Error(`CONFIG_SYNC_FILE ${config.CONFIG_SYNC_FILE} must contain an object`);
    return Object.fromEntries(SYNC_TARGETS.filter((target) => isObject(parsed[target])).map((target) => [target, parsed[target]]));
  }
  const seed: Partial<Record<SyncTarget, Settings>> = {};
  const variables: Record<SyncTarget, string | undefined> = {
    srs: config.CONFIG_SYNC_SRS,
    livekit: config.CONFIG_SYNC_LIVEKIT,
    encoder: config.CONFIG_SYNC_ENCODER,
  };
  for (const target of SYNC_TARGETS) {
    const text = variables[target];
    if (!text) continue;
    const parsed = JSON.parse(text) as unknown;
    if (!isObject(parsed)) throw new Error(`CONFIG_SYNC_${target.toUpperCase()} must be a JSON object`);
    seed[target] = parsed;
  }
  return seed;
}

function isObject(value: unknown): value is Settings {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Central settings per target, stored in Redis, and their push to the services through `config.apply`. */
export class ConfigSyncService {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly gateway: CommandGateway,
    private readonly timeoutMs: number,
  ) {}

  private key(target: SyncTarget): string {
    return `${this.keyPrefix}:orchestrator:config:${target}`;
  }

  /** Stores the seed for each target that has no central settings yet; stored settings win. */
  async seed(seed: Partial<Record<SyncTarget, Settings>>): Promise<void> {
    for (const [target, settings] of Object.entries(seed) as [SyncTarget, Settings][]) {
      await this.redis.set(this.key(target), JSON.stringify(settings), 'NX');
    }
  }

  async settings(target: SyncTarget): Promise<Settings> {
    const text = await this.redis.get(this.key(target));
    return text ? (JSON.parse(text) as Settings) : {};
  }

  /** Merges `update` into the stored settings (when given), then pushes them to the target's services. */
  async sync(target: SyncTarget, update?: Settings) {
    if (update) await this.redis.set(this.key(target), JSON.stringify({ ...(await this.settings(target)), ...update }));
    const settings = await this.settings(target);
    const results = [];
    for (const service of SERVICES_OF[target]) {
      const result = await this.gateway.send(
        { service, command: 'config.apply', payload: { settings } },
        { jobId: `config.${target}.${randomBytes(6).toString('hex')}`, timeoutMs: this.timeoutMs },
      );
      results.push({ service, changed: result.changed ?? {}, ignored: result.ignored ?? [] });
    }
    return { target, settings, results };
  }
}
