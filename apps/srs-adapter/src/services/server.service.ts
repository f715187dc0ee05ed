import { VERSION } from '@castplane/http';

import type { MediaBackend } from '../media/media-backend';
import type { StreamStore } from './stream.store';

/** Server information and summaries across the registry and the media server. */
export class ServerService {
  private readonly startedAt = Date.now();

  constructor(
    private readonly deps: { store: StreamStore; media: () => MediaBackend; ports: () => Record<string, number> },
  ) {}

  async info() {
    const media = this.deps.media();
    const mediaVersion = await media.version().catch(() => 'unavailable');
    return {
      service: 'srs-adapter',
      version: VERSION,
      mode: media.mode,
      mediaServer: mediaVersion,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      ports: this.deps.ports(),
    };
  }

  async summaries() {
    const ids = await this.deps.store.allIds();
    const streams = { total: ids.length, live: 0, reconnecting: 0, idle: 0 };
    const viewers: Record<string, number> = { rtmp: 0, flv: 0, hls: 0 };
    for (const id of ids) {
      const [stream, counts] = await Promise.all([this.deps.store.get(id), this.deps.store.viewers(id)]);
      if (stream) streams[stream.state] += 1;
      for (const [protocol, count] of Object.entries(counts)) viewers[protocol] = (viewers[protocol] ?? 0) + count;
    }
    const media = await this.deps.media().summaries().catch((error: Error) => ({ error: error.message }));
    return { streams, viewers, mediaServer: media };
  }
}
