import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';

import { WebSocketServer } from 'ws';
import type WebSocket from 'ws';

import { AppError, isAppError } from '@castplane/errors';
import type { Logger } from '@castplane/logging';

import { newId } from '../services/models';
import type { ParticipantService } from '../services/participant.service';
import { publicView } from '../services/participant.service';
import type { TokenService } from '../services/token.service';
import type { SignalBus } from './signal.bus';
import { SignalConnection } from './signal.connection';
import type { SignalHandlers } from './signal.handlers';

export interface SignalServerOptions {
  maxMessageBytes: number;
  heartbeatIntervalMs: number;
}

const ROOM_NAME = /^[A-Za-z0-9_.:@-]{1,128}$/;
const SIGNAL_PATH = /^\/signal\/([^/]+)$/;

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

// Rejects a failed handshake with a status and a JSON body, so clients that can read it learn why.
function rejectUpgrade(socket: Duplex, error: AppError): void {
  const body = JSON.stringify({ code: error.code, message: error.message, reason: error.reason });
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_TEXT[error.status] ?? 'Error'}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

function tokenOf(req: IncomingMessage, url: URL): string | undefined {
  const fromQuery = url.searchParams.get('access_token');
  if (fromQuery) return fromQuery;
  const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
  return match?.[1];
}

/**
 * WebSocket signalling at `/signal/{room}` on the client listener: authenticates the access
 * token during the handshake, joins the participant, then hands messages to the handlers.
 */
export class SignalServer {
  private readonly wss: WebSocketServer;
  private heartbeat?: NodeJS.Timeout;
  private readonly connections = new Set<SignalConnection>();

  constructor(
    private readonly tokens: TokenService,
    private readonly participants: ParticipantService,
    private readonly bus: SignalBus,
    private readonly handlers: SignalHandlers,
    private readonly logger: Logger,
    private readonly options: SignalServerOptions,
  ) {
    // Messages over the limit get an error reply; far larger frames close the socket (1009).
    this.wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes * 4, perMessageDeflate: false });
  }

  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.upgrade(req, socket, head).catch((error: unknown) => {
        this.logger.error('signal handshake failed', { err: error instanceof Error ? error.message : String(error) });
        rejectUpgrade(socket, new AppError('internal', 'internal server error'));
      });
    });
    this.heartbeat = setInterval(() => this.checkHeartbeats(), this.options.heartbeatIntervalMs);
    this.heartbeat.unref();
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  localConnections(): SignalConnection[] {
    return [...this.connections];
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = SIGNAL_PATH.exec(url.pathname);
    if (!match) return rejectUpgrade(socket, new AppError('not_found', 'no WebSocket endpoint at this path: use /signal/{room}'));
    const room = decodeURIComponent(match[1]);
    if (!ROOM_NAME.test(room)) {
      return rejectUpgrade(socket, new AppError('invalid_argument', 'the room name must be 1-128 letters, digits or _.:@-'));
    }
    try {
      const { connection, joined } = await this.join(req, url, room);
      if (socket.destroyed) {
        await this.closed(connection, 'handshake aborted');
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.open(ws, connection, joined));
    } catch (error) {
      if (!isAppError(error) || error.status >= 500) throw error;
      this.logger.info('signal join rejected', { roomName: room, code: error.code, reason: error.message });
      rejectUpgrade(socket, error);
    }
  }

  private async join(req: IncomingMessage, url: URL, room: string): Promise<{ connection: SignalConnection; joined: object }> {
    const token = tokenOf(req, url);
    if (!token) throw new AppError('unauthenticated', 'an access token is required: ?access_token= or Authorization: Bearer');
    const claims = await this.tokens.verify(token);
    const grants = claims.video ?? {};
    if (!grants.roomJoin) throw new AppError('permission_denied', 'the access token has no roomJoin grant');
    if (grants.room !== room) {
      throw new AppError('permission_denied', `the access token is for room "${grants.room ?? ''}", not "${room}"`);
    }
    if (!claims.sub) throw new AppError('unauthenticated', 'the access token has no identity (sub)');

    const connection = new SignalConnection(room, claims.sub, newId('SE_'));
    this.bus.add(connection);
    try {
      const joined = await this.participants.join({
        room,
        identity: claims.sub,
        name: claims.name,
        metadata: claims.metadata,
        attributes: claims.attributes,
        grants,
        sessionId: connection.sessionId,
      });
      const snapshot = {
        type: 'joined',
        room: { sid: joined.room.sid, name: joined.room.name, metadata: joined.room.metadata },
        participant: publicView(joined.participant),
        participants: joined.others.map(publicView),
      };
      return { connection, joined: snapshot };
    } catch (error) {
      this.bus.remove(connection);
      throw error;
    }
  }

  // The snapshot is sent once and not kept, so an idle connection keeps no copy of the room.
  private open(ws: WebSocket, connection: SignalConnection, joined: object): void {
    this.connections.add(connection);
    ws.on('pong', () => {
      connection.alive = true;
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      connection.alive = true;
      connection.messagesReceived += 1;
      void this.handlers.handle(connection, data, isBinary);
    });
    ws.on('close', (code: number) => {
      void this.closed(connection, code === 1000 ? 'client closed' : `socket closed (${code})`);
    });
    ws.on('error', (error: Error) => this.logger.info('signal socket error', { roomName: connection.room, err: error.message }));
    connection.attach(ws, joined);
  }

  private async closed(connection: SignalConnection, reason: string): Promise<void> {
    this.connections.delete(connection);
    this.bus.remove(connection);
    try {
      await this.participants.leave(connection.room, connection.identity, connection.sessionId, reason);
    } catch (error) {
      this.logger.warn('participant leave failed', {
        roomName: connection.room,
        participantIdentity: connection.identity,
        err: error instanceof Error ? error.message : String(error),
      });
    }
  }

  private checkHeartbeats(): void {
    for (const connection of this.connections) {
      if (!connection.checkAlive()) {
        this.logger.info('signal heartbeat missed; socket closed', { roomName: connection.room, participantIdentity: connection.identity });
      }
    }
  }

  /** Closes every socket (their participants leave) and stops the heartbeat. */
  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    const pending = [...this.connections].map((connection) => this.closed(connection, 'server shutting down'));
    for (const connection of this.connections) connection.close(1001, 'server shutting down');
    await Promise.allSettled(pending);
    this.wss.close();
  }
}
