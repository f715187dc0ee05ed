import type { Room } from 'livekit-server-sdk';

import { alreadyExists, notFound } from '@castplane/errors';

import type { LivekitClients } from '../clients/livekit.client';
import { call, participantView, roomView } from '../clients/livekit.client';
import type { SettingsService } from './settings.service';
import type { IssuedToken, TokenService } from './token.service';

export interface RoomOptions {
  name: string;
  emptyTimeout?: number;
  departureTimeout?: number;
  maxParticipants?: number;
  metadata?: string;
}

export interface JoinRequest {
  identity: string;
  name?: string;
  metadata?: string;
  canPublish: boolean;
  canPublishData: boolean;
  ttlSeconds?: number;
  issuedBy: string;
}

/** Rooms on the LiveKit server, reached only through `RoomServiceClient`. */
export class RoomService {
  constructor(
    private readonly deps: {
      livekit: LivekitClients;
      tokens: TokenService;
      settings: SettingsService;
      signalBase: () => string;
    },
  ) {}

  /** Creates a room with the configured defaults for what `options` leaves out. */
  async create(options: RoomOptions, ifMissing = false): Promise<{ room: Room; created: boolean }> {
    const existing = await this.deps.livekit.findRoom(options.name);
    if (existing && ifMissing) return { room: existing, created: false };
    if (existing) throw alreadyExists(`room ${JSON.stringify(options.name)} already exists`, 'body.name');
    const defaults = this.deps.settings.current().defaultRoom;
    const room = await call(() =>
      this.deps.livekit.rooms.createRoom({
        name: options.name,
        emptyTimeout: options.emptyTimeout ?? defaults.emptyTimeout,
        departureTimeout: options.departureTimeout ?? defaults.departureTimeout,
        maxParticipants: options.maxParticipants ?? defaults.maxParticipants,
        metadata: options.metadata,
      }),
    );
    return { room, created: true };
  }

  async get(name: string) {
    const room = await this.deps.livekit.findRoom(name);
    if (!room) throw notFound('room', name);
    const participants = await call(() => this.deps.livekit.rooms.listParticipants(name));
    return { ...roomView(room), participants: participants.map(participantView) };
  }

  /** Issues a join token for an existing room and returns it with the signalling URL. */
  async join(roomName: string, request: JoinRequest): Promise<IssuedToken & { signalUrl: string }> {
    const room = await this.deps.livekit.findRoom(roomName);
    if (!room) throw notFound('room', roomName);
    const issued = await this.deps.tokens.issue({
      identity: request.identity,
      roomName,
      name: request.name,
      metadata: request.metadata,
      ttlSeconds: request.ttlSeconds ?? this.deps.settings.current().defaultTokenTtlSeconds,
      grants: {
        roomJoin: true,
        canSubscribe: true,
        canPublish: request.canPublish,
        canPublishData: request.canPublishData,
      },
      issuedBy: request.issuedBy,
    });
    return { ...issued, signalUrl: this.signalUrl(roomName) };
  }

  async leave(roomName: string, identity: string): Promise<void> {
    await call(() => this.deps.livekit.rooms.removeParticipant(roomName, identity), {
      kind: 'participant',
      id: identity,
    });
  }

  signalUrl(roomName: string): string {
    return `${this.deps.signalBase()}/${encodeURIComponent(roomName)}`;
  }
}
