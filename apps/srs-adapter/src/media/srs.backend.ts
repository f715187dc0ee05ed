import type { SrsApiClient, SrsStream } from '../clients/srs-api.client';
import type { StreamRecord } from '../services/stream.store';
import type { MediaActiveStream, MediaBackend, MediaStreamStat } from './media-backend';

const PLAYER_TYPES: Record<string, string> = { 'rtmp-play': 'rtmp', 'flv-play': 'flv', 'hls-play': 'hls' };

/** A real SRS server: stats, kicks and summaries go through its HTTP API. */
export class SrsBackend implements MediaBackend {
  readonly mode = 'external' as const;

  constructor(private readonly api: SrsApiClient) {}

  /** Kicks the publisher and every player: SRS leaves RTMP players attached to a dead stream. */
  async kick(stream: StreamRecord): Promise<boolean> {
    const live = await this.find(stream);
    if (!live) return false;
    const clients = await this.api.clients();
    for (const client of clients) {
      if (client.stream === live.id && !client.publish) await this.api.kick(client.id);
    }
    return live.publish.active && live.publish.cid ? this.api.kick(live.publish.cid) : false;
  }

  kickClient(clientId: string): Promise<boolean> {
    return this.api.kick(clientId);
  }

  async stat(stream: StreamRecord): Promise<MediaStreamStat | undefined> {
    const live = await this.find(stream);
    if (!live) return undefined;
    const clients = (await this.api.clients()).filter((client) => client.stream === live.id);
    const viewers: Record<string, number> = { rtmp: 0, flv: 0, hls: 0 };
    for (const client of clients) {
      const protocol = PLAYER_TYPES[client.type];
      if (protocol) viewers[protocol] += 1;
    }
    const publisher = clients.find((client) => client.publish);
    return {
      publisher: publisher
        ? { clientId: publisher.id, ip: publisher.ip, since: new Date(Date.now() - publisher.alive * 1000).toISOString() }
        : undefined,
      video: live.video ? { codec: live.video.codec, width: live.video.width, height: live.video.height } : undefined,
      audio: live.audio ? { codec: live.audio.codec, sampleRate: live.audio.sample_rate, channels: live.audio.channel } : undefined,
      // NOTE: SRS's kbps are 30 s averages and read 0 for the first 10-30 s of a stream.
      kbps: { in: live.kbps.recv_30s, out: live.kbps.send_30s },
      bytes: { in: live.recv_bytes, out: live.send_bytes },
      viewers,
    };
  }

  async summaries(): Promise<Record<string, unknown>> {
    return { source: 'srs', ...(await this.api.summaries()) };
  }

  async version(): Promise<string> {
    return `SRS ${(await this.api.versions()).version}`;
  }

  async activeStreams(): Promise<MediaActiveStream[]> {
    const streams = await this.api.streams();
    return streams
      .filter((stream) => stream.publish.active)
      .map((stream) => ({ app: stream.app, name: stream.name, publisherClientId: stream.publish.cid }));
  }

  onLive(): void {}

  async onEnded(): Promise<void> {}

  async onDeleted(): Promise<void> {}

  async close(): Promise<void> {}

  /** Finds the stream by the id SRS sent in `on_publish`, else by its URL. */
  private async find(stream: StreamRecord): Promise<SrsStream | undefined> {
    if (stream.serverStreamId) {
      const byId = await this.api.stream(stream.serverStreamId);
      if (byId && byId.url === `/${stream.app}/${stream.name}`) return byId;
    }
    const url = `/${stream.app}/${stream.name}`;
    return (await this.api.streams()).find((candidate) => candidate.url === url);
  }
}
