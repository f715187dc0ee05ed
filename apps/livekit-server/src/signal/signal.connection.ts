import type WebSocket from 'ws';

import type { LocalPeer } from './signal.bus';

/**
 * One participant's socket. It exists before the WebSocket handshake completes, so messages
 * relayed to a participant that has joined but whose socket is not open yet are queued, then
 * sent after the `joined` snapshot.
 */
export class SignalConnection implements LocalPeer {
  private socket?: WebSocket;
  private queued: string[] = [];
  private closed = false;
  alive = true;
  readonly connectedAtMs = Date.now();
  messagesReceived = 0;

  constructor(
    readonly room: string,
    readonly identity: string,
    readonly sessionId: string,
  ) {}

  attach(socket: WebSocket, first: object): void {
    this.socket = socket;
    socket.send(JSON.stringify(first));
    for (const text of this.queued) socket.send(text);
    this.queued = [];
    if (this.closed) socket.close(1000);
  }

  send(message: object): void {
    const text = JSON.stringify(message);
    if (!this.socket) {
      if (this.queued.length < 1000) this.queued.push(text);
      return;
    }
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(text);
  }

  close(code: number, reason: string): void {
    this.closed = true;
    if (this.socket && this.socket.readyState <= this.socket.OPEN) this.socket.close(code, reason);
  }

  /** Sends a heartbeat ping, terminating the socket when the previous ping got no pong. */
  checkAlive(): boolean {
    if (!this.socket) return true;
    if (!this.alive) {
      this.socket.terminate();
      return false;
    }
    this.alive = false;
    this.socket.ping();
    return true;
  }
}
