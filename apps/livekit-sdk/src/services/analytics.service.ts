import type { AnalyticsStore, StatsSample } from './analytics.store';

/** A query's time range in Unix milliseconds, an optional room filter and a bucket size. */
export interface AnalyticsQuery {
  from: number;
  to: number;
  roomName?: string;
  bucketSeconds: number;
  limit: number;
}

function summarize(values: number[]) {
  if (values.length === 0) return { count: 0, avgSeconds: 0, minSeconds: 0, maxSeconds: 0, totalSeconds: 0 };
  const total = values.reduce((sum, value) => sum + value, 0);
  return {
    count: values.length,
    avgSeconds: Math.round((total / values.length) * 10) / 10,
    minSeconds: Math.min(...values),
    maxSeconds: Math.max(...values),
    totalSeconds: total,
  };
}

function average(values: (number | undefined)[]): number | null {
  const present = values.filter((value): value is number => typeof value === 'number');
  if (present.length === 0) return null;
  return Math.round((present.reduce((sum, value) => sum + value, 0) / present.length) * 100) / 100;
}

/** Groups items into fixed buckets from `query.from`; empty buckets are listed too. */
function bucketize<T extends { at: number }>(items: T[], query: AnalyticsQuery): { start: string; items: T[] }[] {
  const size = query.bucketSeconds * 1000;
  const count = Math.max(1, Math.ceil((query.to - query.from) / size));
  const buckets = Array.from({ length: count }, (_, index) => ({
    start: new Date(query.from + index * size).toISOString(),
    items: [] as T[],
  }));
  for (const item of items) {
    const index = Math.min(count - 1, Math.floor((item.at - query.from) / size));
    if (index >= 0) buckets[index].items.push(item);
  }
  return buckets;
}

/** Computes the analytics reports from the stored webhook events and client stats. */
export class AnalyticsService {
  constructor(private readonly store: AnalyticsStore) {}

  async rooms(query: AnalyticsQuery) {
    const sessions = (await this.store.rooms(query.from, query.to, query.limit)).filter(
      (session) => !query.roomName || session.name === query.roomName,
    );
    const finished = sessions.filter((session) => session.finishedAt !== undefined);
    return {
      range: range(query),
      active: sessions.length - finished.length,
      total: sessions.length,
      durations: summarize(finished.map((session) => Math.round((session.finishedAt! - session.startedAt) / 1000))),
      peakParticipants: Math.max(0, ...sessions.map((session) => session.peak)),
      rooms: sessions.map((session) => ({
        name: session.name,
        sid: session.sid,
        startedAt: new Date(session.startedAt).toISOString(),
        finishedAt: session.finishedAt ? new Date(session.finishedAt).toISOString() : null,
        active: session.finishedAt === undefined,
        peakParticipants: session.peak,
        currentParticipants: session.current,
      })),
    };
  }

  async participants(query: AnalyticsQuery) {
    const entries = (await this.store.participantEntries(query.from, query.to)).filter(
      (entry) => !query.roomName || entry.roomName === query.roomName,
    );
    const sessions = entries.map((entry) => entry.sessionSeconds).filter((value): value is number => value !== undefined);
    return {
      range: range(query),
      joins: entries.filter((entry) => entry.type === 'join').length,
      leaves: entries.filter((entry) => entry.type === 'leave').length,
      aborted: entries.filter((entry) => entry.type === 'abort').length,
      uniqueIdentities: new Set(entries.map((entry) => entry.identity)).size,
      sessionLengths: summarize(sessions),
      buckets: bucketize(entries, query).map((bucket) => ({
        start: bucket.start,
        joins: bucket.items.filter((entry) => entry.type === 'join').length,
        leaves: bucket.items.filter((entry) => entry.type !== 'join').length,
      })),
    };
  }

  async bandwidth(query: AnalyticsQuery) {
    const samples = await this.samples(query);
    return {
      range: range(query),
      samples: samples.length,
      buckets: bucketize(samples, query).map((bucket) => ({
        start: bucket.start,
        samples: bucket.items.length,
        bytesSent: bucket.items.reduce((sum, sample) => sum + sample.bytesSent, 0),
        bytesReceived: bucket.items.reduce((sum, sample) => sum + sample.bytesReceived, 0),
        avgBitrateKbps: average(bucket.items.map((sample) => sample.bitrateKbps)),
      })),
    };
  }

  async quality(query: AnalyticsQuery) {
    const samples = await this.samples(query);
    return {
      range: range(query),
      samples: samples.length,
      buckets: bucketize(samples, query).map((bucket) => ({
        start: bucket.start,
        samples: bucket.items.length,
        avgPacketLossPercent: average(bucket.items.map((sample) => sample.packetLossPercent)),
        avgJitterMs: average(bucket.items.map((sample) => sample.jitterMs)),
        avgRttMs: average(bucket.items.map((sample) => sample.rttMs)),
        quality: countQuality(bucket.items),
      })),
    };
  }

  recordStats(samples: StatsSample[]): Promise<void> {
    return this.store.addStats(samples);
  }

  private async samples(query: AnalyticsQuery): Promise<StatsSample[]> {
    const samples = await this.store.stats(query.from, query.to);
    return samples.filter((sample) => !query.roomName || sample.roomName === query.roomName);
  }
}

function countQuality(samples: StatsSample[]) {
  const counts = { excellent: 0, good: 0, poor: 0, lost: 0 };
  for (const sample of samples) if (sample.quality) counts[sample.quality] += 1;
  return counts;
}

function range(query: AnalyticsQuery) {
  return {
    from: new Date(query.from).toISOString(),
    to: new Date(query.to).toISOString(),
    roomName: query.roomName ?? null,
    bucketSeconds: query.bucketSeconds,
  };
}
