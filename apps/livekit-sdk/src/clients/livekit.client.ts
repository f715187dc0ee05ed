import {
  AccessToken,
  ParticipantInfo_State,
  RoomServiceClient,
  ServerError,
  TokenVerifier,
  TrackSource,
  WebhookReceiver,
} from 'livekit-server-sdk';
import type { ParticipantInfo, Room, TrackInfo } from 'livekit-server-sdk';

import { AppError, unavailable } from '@castplane/errors';

/** The LiveKit server URL and the key pair that signs requests to it. */
export interface LivekitTarget {
  url: string;
  apiKey: string;
  apiSecret: string;
}

/**
 * The official SDK's clients for one LiveKit target. The target can change at run time (config
 * PUT), so callers ask for the current clients on each use instead of keeping them.
 */
export class LivekitClients {
  private cached?: {
    signature: string;
    rooms: RoomServiceClient;
    receiver: WebhookReceiver;
    verifier: TokenVerifier;
  };

  constructor(
    private readonly target: () => LivekitTarget,
    private readonly requestTimeoutSeconds: number,
  ) {}

  private current() {
    const target = this.target();
    const signature = `${target.url}\n${target.apiKey}\n${target.apiSecret}`;
    if (this.cached?.signature !== signature) {
      this.cached = {
        signature,
        rooms: new RoomServiceClient(target.url, target.apiKey, target.apiSecret, {
          requestTimeout: this.requestTimeoutSeconds,
        }),
        receiver: new WebhookReceiver(target.apiKey, target.apiSecret),
        verifier: new TokenVerifier(target.apiKey, target.apiSecret),
      };
    }
    return this.cached;
  }

  get rooms(): RoomServiceClient {
    return this.current().rooms;
  }

  get receiver(): WebhookReceiver {
    return this.current().receiver;
  }

  get verifier(): TokenVerifier {
    return this.current().verifier;
  }

  /** Creates an `AccessToken` signed with the current key pair. */
  accessToken(identity: string, ttlSeconds: number, extra: { name?: string; metadata?: string } = {}): AccessToken {
    const { apiKey, apiSecret } = this.target();
    return new AccessToken(apiKey, apiSecret, { identity, ttl: ttlSeconds, ...extra });
  }

  /** Returns the room named `name`, or undefined when the server has no such room. */
  async findRoom(name: string): Promise<Room | undefined> {
    const rooms = await call(() => this.rooms.listRooms([name]));
    return rooms.find((room) => room.name === name);
  }
}

/**
 * Runs an SDK call and maps its failures. A 404 from LiveKit becomes `not_found`, and other LiveKit
 * errors and network failures become `unavailable`, because the API client did nothing wrong.
 */
export async function call<T>(operation: () => Promise<T>, notFound?: { kind: string; id: string }): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof ServerError && error.status === 404 && notFound) {
      const message = `${notFound.kind} ${JSON.stringify(notFound.id)} not found on the LiveKit server`;
      throw new AppError('not_found', message, {
        details: [{ field: notFound.kind, message: 'not found' }],
      });
    }
    if (error instanceof ServerError) {
      throw unavailable(`the LiveKit server rejected the request (${error.status} ${error.code ?? 'error'})`);
    }
    const reason = error instanceof Error ? error.message : String(error);
    throw unavailable(`the LiveKit server is unreachable: ${reason}`);
  }
}

/** Converts a Room to plain JSON, with the int64 fields (bigint in the SDK) as numbers. */
export function roomView(room: Room) {
  return {
    sid: room.sid,
    name: room.name,
    emptyTimeout: room.emptyTimeout,
    departureTimeout: room.departureTimeout,
    maxParticipants: room.maxParticipants,
    creationTime: Number(room.creationTime),
    metadata: room.metadata,
    numParticipants: room.numParticipants,
    numPublishers: room.numPublishers,
    activeRecording: room.activeRecording,
  };
}

function trackView(track: TrackInfo) {
  return {
    sid: track.sid,
    name: track.name,
    type: trackKind(track.type),
    muted: track.muted,
    source: TrackSource[track.source] ?? 'UNKNOWN',
  };
}

/** Converts a ParticipantInfo to plain JSON with enum names. */
export function participantView(participant: ParticipantInfo) {
  return {
    sid: participant.sid,
    identity: participant.identity,
    name: participant.name,
    state: ParticipantInfo_State[participant.state] ?? 'UNKNOWN',
    metadata: participant.metadata,
    joinedAt: Number(participant.joinedAt),
    isPublisher: participant.isPublisher,
    tracks: participant.tracks.map(trackView),
  };
}

/** LiveKit's TrackType enum as a lower-case word; AUDIO is 0, so a missing type means audio. */
export function trackKind(type: number | undefined): string {
  return ['audio', 'video', 'data'][type ?? 0] ?? 'unknown';
}
