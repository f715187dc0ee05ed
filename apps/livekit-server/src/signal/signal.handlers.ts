import { AppError, isAppError } from '@castplane/errors';
import type { Logger } from '@castplane/logging';

import type { TrackRecord } from '../services/models';
import type { ParticipantService } from '../services/participant.service';
import { publicView } from '../services/participant.service';
import type { RelayService, RelayType } from '../services/relay.service';
import type { ClientMessage } from './signal-messages';
import { parseClientMessage } from './signal-messages';
import type { SignalConnection } from './signal.connection';

type Handler = (connection: SignalConnection, message: ClientMessage) => Promise<void>;

/** Handles client messages on `/signal`; every failure becomes an `error` message to the sender. */
export class SignalHandlers {
  private readonly table: Record<string, Handler>;

  constructor(
    private readonly participants: ParticipantService,
    private readonly relay: RelayService,
    private readonly logger: Logger,
    private readonly maxMessageBytes: number,
  ) {
    this.table = {
      join: (connection) => this.snapshot(connection),
      offer: (connection, message) => this.forward(connection, 'offer', message, { sdp: message.sdp }),
      answer: (connection, message) => this.forward(connection, 'answer', message, { sdp: message.sdp }),
      'ice-candidate': (connection, message) =>
        this.forward(connection, 'ice-candidate', message, { candidate: message.candidate }),
      'track-publish': (connection, message) => this.publish(connection, message),
      'track-unpublish': (connection, message) => this.unpublish(connection, message),
      mute: (connection, message) => this.mute(connection, message),
      'client-stats': (connection, message) => this.stats(connection, message),
      ping: async (connection, message) => connection.send({ type: 'pong', id: message.id }),
      leave: async (connection) => connection.close(1000, 'left'),
    };
  }

  async handle(connection: SignalConnection, data: Buffer, isBinary: boolean): Promise<void> {
    if (isBinary) return this.reject(connection, 'unsupported', { code: 'invalid_argument', message: 'binary messages are not accepted: send JSON text' });
    if (data.length > this.maxMessageBytes) {
      return this.reject(connection, 'unknown', {
        code: 'payload_too_large',
        message: `the message is ${data.length} bytes; the limit is ${this.maxMessageBytes}`,
      });
    }
    const parsed = parseClientMessage(data.toString('utf8'));
    if ('error' in parsed) return this.reject(connection, parsed.error.requestType, parsed.error);
    try {
      await this.table[parsed.message.type](connection, parsed.message);
    } catch (error) {
      const appError = isAppError(error) ? error : new AppError('internal', 'internal server error');
      if (!isAppError(error)) this.logger.error('signal message failed', { roomName: connection.room, err: String(error) });
      this.reject(connection, parsed.message.type, { code: appError.code, message: appError.message, reason: appError.reason });
    }
  }

  private reject(connection: SignalConnection, requestType: string, error: Record<string, unknown>): void {
    connection.send({ type: 'error', requestType, ...error });
  }

  private async snapshot(connection: SignalConnection): Promise<void> {
    const everyone = await this.participants.list(connection.room);
    connection.send({
      type: 'joined',
      participant: publicView(everyone.find((p) => p.identity === connection.identity) ?? everyone[0]),
      participants: everyone.filter((p) => p.identity !== connection.identity).map(publicView),
    });
  }

  private async forward(connection: SignalConnection, type: RelayType, message: ClientMessage, body: Record<string, unknown>) {
    const to = String(message.to);
    if (to === connection.identity) throw new AppError('invalid_argument', 'a participant cannot signal itself');
    await this.relay.relay(connection.room, connection.identity, to, type, body);
  }

  private async publish(connection: SignalConnection, message: ClientMessage): Promise<void> {
    const self = await this.participants.get(connection.room, connection.identity);
    const source = String(message.source);
    if (!self.permission.canPublish) throw new AppError('permission_denied', 'this participant may not publish tracks (canPublish is false)');
    const sources = self.permission.canPublishSources;
    if (sources.length > 0 && !sources.includes(source)) {
      throw new AppError('permission_denied', `this participant may not publish the source "${source}"`);
    }
    const track = await this.participants.publishTrack(connection.room, connection.identity, {
      kind: message.kind as TrackRecord['kind'],
      name: String(message.name),
      source: source as TrackRecord['source'],
      muted: Boolean(message.muted),
      width: Number(message.width),
      height: Number(message.height),
      mimeType: String(message.mimeType),
    });
    connection.send({ type: 'track-published', identity: connection.identity, track });
  }

  private async unpublish(connection: SignalConnection, message: ClientMessage): Promise<void> {
    const track = await this.participants.unpublishTrack(connection.room, connection.identity, String(message.trackSid));
    connection.send({ type: 'track-unpublished', identity: connection.identity, trackSid: track.sid });
  }

  private async mute(connection: SignalConnection, message: ClientMessage): Promise<void> {
    const muted = Boolean(message.muted);
    await this.participants.setMuted(connection.room, connection.identity, muted, String(message.trackSid), false);
    connection.send({ type: 'track-muted', identity: connection.identity, trackSid: message.trackSid, muted });
  }

  private async stats(connection: SignalConnection, message: ClientMessage): Promise<void> {
    const { type: _type, ...stats } = message;
    await this.participants.recordStats(connection.room, connection.identity, stats);
  }
}
