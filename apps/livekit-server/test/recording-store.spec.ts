import type { EventEnvelope } from '@castplane/contracts';
import { closeRedis, createRedis } from '@castplane/redis';
import type { Redis } from '@castplane/redis';
import { testRedisUrl, uniquePrefix } from '@castplane/testing';

import type { RecordingRecord, RoomRecord } from '../src/services/models';
import { RecordingStore } from '../src/services/recording.store';
import { RoomStore } from '../src/services/room.store';

const ENDING_TIMEOUT_MS = 5000;

function recordingFor(room: string, egressId: string, jobId: string): RecordingRecord {
  return {
    egressId,
    roomName: room,
    roomSid: 'RM_test',
    encoderJobId: jobId,
    outputPath: `recordings/live/show/${room}.mp4`,
    status: 'starting',
    layout: '',
    filepath: `recordings/live/show/${room}.mp4`,
    error: '',
    createdAtMs: 1000,
    startedAtMs: 0,
    endedAtMs: 0,
    updatedAtMs: 1000,
  };
}

function roomNamed(name: string): RoomRecord {
  return {
    sid: 'RM_test',
    name,
    emptyTimeout: 300,
    departureTimeout: 20,
    maxParticipants: 0,
    metadata: '',
    creationTimeMs: 1000,
    firstJoinedAtMs: 0,
    lastLeftAtMs: 0,
    linkedStream: { app: 'live', name: 'show' },
    activeRecording: '',
  };
}

function startedEvent(jobId: string): EventEnvelope {
  return {
    id: `${jobId}-started-1`,
    type: 'transcode.started',
    time: new Date(2000).toISOString(),
    source: 'encoder',
    data: { jobId, app: 'live', name: 'show', masterPlaylistPath: 'recordings/live/show/x.mp4' },
  };
}

describe('RecordingStore', () => {
  let redis: Redis;
  let prefix: string;
  let store: RecordingStore;
  let rooms: RoomStore;

  beforeAll(() => {
    redis = createRedis(testRedisUrl(), { name: 'recording-store-test' });
  });

  beforeEach(() => {
    prefix = uniquePrefix('recordings');
    store = new RecordingStore(redis, prefix, ENDING_TIMEOUT_MS);
    rooms = new RoomStore(redis, prefix);
  });

  afterAll(async () => {
    await closeRedis(redis);
  });

  it('prunes only recordings that ended before the cutoff', async () => {
    const day = 86400_000;
    const now = Date.now();
    await store.create({ ...recordingFor('room-old', 'EG_old', 'rec-old'), status: 'complete', endedAtMs: now - 40 * day });
    await store.create({ ...recordingFor('room-new', 'EG_new', 'rec-new'), status: 'failed', endedAtMs: now - day });
    await store.create({ ...recordingFor('room-run', 'EG_run', 'rec-run'), status: 'active', createdAtMs: now - 40 * day });

    const removed = await store.pruneEnded(now - 30 * day);

    expect(removed).toEqual(['EG_old']);
    expect(await store.getRecording('EG_old')).toBeUndefined();
    expect((await store.listRecordings()).map((recording) => recording.egressId).sort()).toEqual(['EG_new', 'EG_run']);
    expect(await store.findByJobOrPark('rec-old', startedEvent('rec-old'))).toBeUndefined();
    expect(await store.findByJobOrPark('rec-run', startedEvent('rec-run'))).toBe('EG_run');
  });

  it('returns parked events on create', async () => {
    const event = startedEvent('rec-early');

    expect(await store.findByJobOrPark('rec-early', event)).toBeUndefined();
    const parked = await store.create(recordingFor('room-a', 'EG_early', 'rec-early'));

    expect(parked).toEqual([event]);
    expect(await store.findByJobOrPark('rec-early', event)).toBe('EG_early');
    expect(await redis.exists(`${prefix}:recordings:parked:rec-early`)).toBe(0);
  });

  it('expires parked events of jobs without a recording', async () => {
    await store.findByJobOrPark('ladder-job', startedEvent('ladder-job'));

    const ttl = await redis.ttl(`${prefix}:recordings:parked:ladder-job`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(300);
  });

  it('lists ending recordings once due', async () => {
    await store.create(recordingFor('room-b', 'EG_ending', 'rec-ending'));

    const result = await store.transition('EG_ending', (recording) => ({ ...recording, status: 'ending', updatedAtMs: 10_000 }));

    expect(result?.changed).toBe(true);
    expect(await store.dueEnding(10_000 + ENDING_TIMEOUT_MS - 1)).toEqual([]);
    expect(await store.dueEnding(10_000 + ENDING_TIMEOUT_MS)).toEqual(['EG_ending']);
  });

  it('releases slot and deadline when final', async () => {
    await rooms.createRoom(roomNamed('room-c'));
    expect(await store.claimRecordingSlot('room-c', 'EG_final')).toBe(true);
    await store.create(recordingFor('room-c', 'EG_final', 'rec-final'));
    await store.transition('EG_final', (recording) => ({ ...recording, status: 'ending', updatedAtMs: 10_000 }));

    await store.transition('EG_final', (recording) => ({ ...recording, status: 'complete', endedAtMs: 11_000, updatedAtMs: 11_000 }));

    expect((await rooms.getRoom('room-c'))?.activeRecording).toBe('');
    expect(await store.dueEnding(Number.MAX_SAFE_INTEGER)).toEqual([]);
    expect((await store.getRecording('EG_final'))?.status).toBe('complete');
  });

  it('keeps the slot of another recording', async () => {
    await rooms.createRoom(roomNamed('room-d'));
    await store.claimRecordingSlot('room-d', 'EG_other');
    await store.create(recordingFor('room-d', 'EG_old', 'rec-old'));

    await store.transition('EG_old', (recording) => ({ ...recording, status: 'failed', endedAtMs: 11_000, updatedAtMs: 11_000 }));

    expect((await rooms.getRoom('room-d'))?.activeRecording).toBe('EG_other');
  });

  it('keeps a recording without a change', async () => {
    await store.create(recordingFor('room-e', 'EG_same', 'rec-same'));

    const result = await store.transition('EG_same', () => undefined);

    expect(result?.changed).toBe(false);
    expect(result?.recording.status).toBe('starting');
  });

  it('applies one of two concurrent transitions', async () => {
    await store.create(recordingFor('room-f', 'EG_race', 'rec-race'));
    const finish = (status: 'complete' | 'failed') =>
      store.transition('EG_race', (recording) =>
        recording.status === 'complete' || recording.status === 'failed' ? undefined : { ...recording, status, updatedAtMs: 12_000 },
      );

    const results = await Promise.all([finish('complete'), finish('failed')]);

    expect(results.filter((result) => result?.changed)).toHaveLength(1);
    const winner = results.find((result) => result?.changed)!.recording.status;
    expect((await store.getRecording('EG_race'))?.status).toBe(winner);
  });

  it('returns undefined for an unknown recording', async () => {
    expect(await store.transition('EG_missing', (recording) => recording)).toBeUndefined();
  });
});
