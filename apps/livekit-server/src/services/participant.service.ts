import type { VideoGrant } from 'livekit-server-sdk';

import { AppError, notFound } from '@castplane/errors';
import type { Logger } from '@castplane/logging';

import type { SignalBus } from '../signal/signal.bus';
import type { ClientStats, ParticipantRecord, RoomRecord, TrackRecord } from './models';
import { newId } from './models';
import type { RoomEvents } from './room-events';
import type { RoomService } from './room.service';
import { CLOSE_CODES } from './room.service';
import type { RoomStore } from './room.store';

export interface JoinRequest {
  room: string;
  identity: string;
  name?: string;
  metadata?: string;
  attributes?: Record<string, string>;
  grants: VideoGrant;
  sessionId: string;
}

export interface ParticipantUpdate {
  name?: string;
  metadata?: string;
  attributes?: Record<string, string>;
  permission?: Partial<ParticipantRecord['permission']>;
}

const JOIN_ERRORS = {
  room_not_found: () => new AppError('not_found', 'the room does not exist and rooms are not created on join'),
  duplicate: () =>
    new AppError('already_exists', 'a participant with this identity is already connected', { reason: 'duplicate_identity' }),
  full: () => new AppError('resource_exhausted', 'the room is full (maxParticipants reached)', { reason: 'room_full' }),
} as const;

/** Manages participants and their tracks: join and leave, admin changes, and the messages each one gets. */
export class ParticipantService {
  constructor(
    private readonly store: RoomStore,
    private readonly rooms: RoomService,
    private readonly bus: SignalBus,
    private readonly events: RoomEvents,
    private readonly logger: Logger,
    private readonly options: { duplicateIdentity: () => 'replace' | 'reject'; autoCreate: boolean },
  ) {}

  /** Adds the participant to the room (creating it when allowed) and notifies the others. */
  async join(request: JoinRequest): Promise<{ room: RoomRecord; participant: ParticipantRecord; others: ParticipantRecord[] }> {
    const participant = buildParticipant(request, this.bus.nodeId);
    const template = this.rooms.template({ name: request.room });
    const { status, previous } = await this.store.join(template, participant, {
      policy: this.options.duplicateIdentity(),
      autoCreate: this.options.autoCreate,
    });
    if (status !== 'joined') throw JOIN_ERRORS[status]();

    const room = await this.rooms.get(request.room);
    if (room.sid === template.sid) await this.events.roomStarted(room);
    if (previous) await this.replaced(room, previous);
    const everyone = await this.store.listParticipants(room.name);
    await this.bus.broadcast(room.name, { type: 'participant-joined', participant: publicView(participant) }, participant.identity);
    await this.events.participantJoined(room, everyone, participant);
    this.logger.info('participant joined', { roomName: room.name, participantIdentity: participant.identity });
    return { room, participant, others: everyone.filter((other) => other.identity !== participant.identity) };
  }

  // The previous connection of the same identity is closed; its tracks are gone with it.
  private async replaced(room: RoomRecord, previous: ParticipantRecord): Promise<void> {
    await this.bus.closePeer(previous.nodeId, room.name, previous.identity, previous.sessionId, CLOSE_CODES.replaced, 'replaced by a new connection');
    for (const track of previous.tracks) await this.events.trackChanged('unpublished', room, previous, track);
    await this.events.participantLeft(room, [], previous);
  }

  /**
   * Removes a participant when its socket closes (only if that socket still owns the record).
   * Returns false when another session or caller got there first.
   */
  async leave(roomName: string, identity: string, sessionId: string, reason: string): Promise<boolean> {
    const removed = await this.store.leave(roomName, identity, sessionId);
    if (!removed) return false;
    await this.announceLeft(roomName, removed, reason);
    return true;
  }

  private async announceLeft(roomName: string, removed: ParticipantRecord, reason: string): Promise<void> {
    await this.bus.broadcast(roomName, { type: 'participant-left', identity: removed.identity, sid: removed.sid, reason });
    const room = await this.store.getRoom(roomName);
    if (!room) return;
    for (const track of removed.tracks) await this.events.trackChanged('unpublished', room, removed, track);
    await this.events.participantLeft(room, await this.store.listParticipants(roomName), removed);
    this.logger.info('participant left', { roomName, participantIdentity: removed.identity, reason });
  }

  async list(roomName: string): Promise<ParticipantRecord[]> {
    await this.rooms.get(roomName);
    return this.store.listParticipants(roomName);
  }

  async get(roomName: string, identity: string): Promise<ParticipantRecord> {
    const participant = await this.store.getParticipant(roomName, identity);
    if (!participant) throw notFound('participant', identity);
    return participant;
  }

  /** Kicks a participant: it gets a `kicked` message, its socket is closed and its record removed. */
  async remove(roomName: string, identity: string): Promise<void> {
    const participant = await this.get(roomName, identity);
    await this.bus.sendTo(participant.nodeId, roomName, identity, { type: 'kicked', reason: 'removed by an administrator' });
    await this.bus.closePeer(participant.nodeId, roomName, identity, participant.sessionId, CLOSE_CODES.removed, 'removed');
    const removed = await this.store.leave(roomName, identity, participant.sessionId);
    if (removed) await this.announceLeft(roomName, removed, 'removed');
  }

  async update(roomName: string, identity: string, update: ParticipantUpdate): Promise<ParticipantRecord> {
    const updated = await this.store.updateParticipant(roomName, identity, (participant) => ({
      ...participant,
      name: update.name || participant.name,
      metadata: update.metadata || participant.metadata,
      attributes: { ...participant.attributes, ...(update.attributes ?? {}) },
      permission: update.permission ? { ...participant.permission, ...update.permission } : participant.permission,
    }));
    if (!updated) throw notFound('participant', identity);
    await this.bus.broadcast(roomName, { type: 'participant-updated', participant: publicView(updated) });
    return updated;
  }

  /**
   * Mutes or unmutes tracks (all of them when `trackSid` is omitted) and sends the participant a
   * `mute-request` so its client stops or resumes sending.
   */
  async setMuted(roomName: string, identity: string, muted: boolean, trackSid?: string, notifyOwner = true): Promise<TrackRecord[]> {
    const current = await this.get(roomName, identity);
    if (trackSid && !current.tracks.some((track) => track.sid === trackSid)) throw notFound('track', trackSid);
    const updated = await this.store.updateParticipant(roomName, identity, (participant) => ({
      ...participant,
      tracks: participant.tracks.map((track) => (!trackSid || track.sid === trackSid ? { ...track, muted } : track)),
    }));
    if (!updated) throw notFound('participant', identity);
    const changed = updated.tracks.filter((track) => !trackSid || track.sid === trackSid);
    for (const track of changed) {
      if (notifyOwner) await this.bus.sendTo(updated.nodeId, roomName, identity, { type: 'mute-request', trackSid: track.sid, muted });
      await this.bus.broadcast(roomName, { type: 'track-muted', identity, trackSid: track.sid, muted }, identity);
    }
    return changed;
  }

  async publishTrack(roomName: string, identity: string, input: Omit<TrackRecord, 'sid' | 'publishedAtMs' | 'disabled'>) {
    const track: TrackRecord = { ...input, sid: newId('TR_'), disabled: false, publishedAtMs: Date.now() };
    const updated = await this.store.updateParticipant(roomName, identity, (participant) => ({
      ...participant,
      tracks: [...participant.tracks, track],
    }));
    if (!updated) throw notFound('participant', identity);
    await this.bus.broadcast(roomName, { type: 'track-published', identity, track }, identity);
    const room = await this.rooms.get(roomName);
    await this.events.trackChanged('published', room, updated, track);
    return track;
  }

  /** Removes a track; `notifyOwner` sends the publisher
   * `track-removed` when an administrator removed it. */
  async unpublishTrack(roomName: string, identity: string, trackSid: string, notifyOwner = false): Promise<TrackRecord> {
    let removed: TrackRecord | undefined;
    const updated = await this.store.updateParticipant(roomName, identity, (participant) => {
      removed = participant.tracks.find((track) => track.sid === trackSid);
      return { ...participant, tracks: participant.tracks.filter((track) => track.sid !== trackSid) };
    });
    if (!updated) throw notFound('participant', identity);
    if (!removed) throw notFound('track', trackSid);
    if (notifyOwner) await this.bus.sendTo(updated.nodeId, roomName, identity, { type: 'track-removed', trackSid });
    await this.bus.broadcast(roomName, { type: 'track-unpublished', identity, trackSid }, identity);
    await this.events.trackChanged('unpublished', await this.rooms.get(roomName), updated, removed);
    return removed;
  }

  async setTrackEnabled(roomName: string, trackSid: string, enabled: boolean): Promise<TrackRecord> {
    const owner = await this.trackOwner(roomName, trackSid);
    const updated = await this.store.updateParticipant(roomName, owner.identity, (participant) => ({
      ...participant,
      tracks: participant.tracks.map((track) => (track.sid === trackSid ? { ...track, disabled: !enabled } : track)),
    }));
    const track = updated?.tracks.find((candidate) => candidate.sid === trackSid);
    if (!updated || !track) throw notFound('track', trackSid);
    await this.bus.sendTo(updated.nodeId, roomName, owner.identity, { type: enabled ? 'track-enable-request' : 'track-disable-request', trackSid });
    return track;
  }

  async trackOwner(roomName: string, trackSid: string): Promise<ParticipantRecord> {
    const participants = await this.list(roomName);
    const owner = participants.find((participant) => participant.tracks.some((track) => track.sid === trackSid));
    if (!owner) throw notFound('track', trackSid);
    return owner;
  }

  async recordStats(roomName: string, identity: string, stats: ClientStats): Promise<void> {
    await this.store.updateParticipant(roomName, identity, (participant) => ({
      ...participant,
      stats: { ...stats, reportedAtMs: Date.now() },
    }));
  }

  /** Sends a data message to the named identities, or to everyone when none are named. */
  async sendData(roomName: string, data: { payload: string; topic?: string; to: string[] }): Promise<void> {
    await this.rooms.get(roomName);
    const message = { type: 'data', payload: data.payload, topic: data.topic };
    if (data.to.length === 0) {
      await this.bus.broadcast(roomName, message);
      return;
    }
    for (const identity of data.to) {
      const participant = await this.store.getParticipant(roomName, identity);
      if (participant) await this.bus.sendTo(participant.nodeId, roomName, identity, message);
    }
  }
}

function buildParticipant(request: JoinRequest, nodeId: string): ParticipantRecord {
  const grants = request.grants;
  return {
    sid: newId('PA_'),
    identity: request.identity,
    name: request.name ?? '',
    metadata: request.metadata ?? '',
    attributes: request.attributes ?? {},
    permission: {
      canPublish: grants.canPublish ?? true,
      canSubscribe: grants.canSubscribe ?? true,
      canPublishData: grants.canPublishData ?? true,
      canPublishSources: (grants.canPublishSources ?? []).map(String),
      canUpdateMetadata: grants.canUpdateOwnMetadata ?? false,
      hidden: grants.hidden ?? false,
    },
    joinedAtMs: Date.now(),
    nodeId,
    sessionId: request.sessionId,
    tracks: [],
    version: 1,
    stats: {},
  };
}

/** Returns the part of a participant that others see (no node or session ids). */
export function publicView(participant: ParticipantRecord) {
  const { nodeId: _node, sessionId: _session, stats: _stats, ...rest } = participant;
  return rest;
}
