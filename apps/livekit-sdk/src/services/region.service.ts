import axios from 'axios';

export interface Region {
  name: string;
  url: string;
}

/** Parses `LIVEKIT_REGIONS` (`name=url,...`); with none configured, `default` is `LIVEKIT_URL`. */
export function parseRegions(spec: string, fallbackUrl: string): Region[] {
  const entries = spec
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) return [{ name: 'default', url: fallbackUrl }];
  return entries.map((entry) => {
    const match = /^([A-Za-z0-9._-]{1,64})=(.+)$/.exec(entry);
    if (!match) throw new Error(`LIVEKIT_REGIONS: expected name=url, got an entry without "=" or with an invalid name`);
    const url = new URL(match[2]);
    if (!['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol)) {
      throw new Error(`LIVEKIT_REGIONS: region "${match[1]}" must use http, https, ws or wss`);
    }
    return { name: match[1], url: match[2] };
  });
}

/**
 * Probes each region's LiveKit health check, `GET /`, where a real LiveKit server returns 200 `OK`
 * (406 when its node stats are stale). Any HTTP response counts as reachable.
 */
export class RegionService {
  constructor(private readonly deps: { regions: Region[]; timeoutMs: number }) {}

  async list() {
    const results = await Promise.all(this.deps.regions.map((region) => this.probe(region)));
    return { regions: results };
  }

  private async probe(region: Region) {
    const target = new URL('/', region.url.replace(/^ws/, 'http')).toString();
    const started = Date.now();
    try {
      const response = await axios.get(target, {
        timeout: this.deps.timeoutMs,
        validateStatus: () => true,
        maxRedirects: 0,
        responseType: 'text',
      });
      return {
        ...region,
        reachable: true,
        healthy: response.status === 200,
        status: response.status,
        latencyMs: Date.now() - started,
      };
    } catch (error) {
      const reason = axios.isAxiosError(error) ? (error.code ?? error.message) : String(error);
      return { ...region, reachable: false, healthy: false, status: null, latencyMs: null, error: reason };
    }
  }
}
