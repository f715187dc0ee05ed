import type { Logger } from '@castplane/logging';
import type { Redis } from '@castplane/redis';

/** A socket connected to this replica, addressed by room and identity. */
export interface LocalPeer {
  readonly room: string;
  readonly identity: string;
  readonly sessionId: string;
  send(message: object): void;
  close(code: number, reason: string): void;
}

type BusMessage =
  | { kind: 'direct'; node: string; room: string; identity: string; message: object }
  | { kind: 'room'; origin: string; room: string; except?: string; message: object }
  | { kind: 'close'; node: string; room: string; identity: string; sessionId: string; code: number; reason: string };

/**
 * Delivers signalling messages to sockets on any replica. Local sockets are reached directly, and
 * the others through one Redis pub/sub channel. Every replica subscribes with its own connection,
 * because a subscribed ioredis connection cannot run other commands.
 */
export class SignalBus {
  private readonly peers = new Map<string, Map<string, LocalPeer>>();
  // Keyed by session, so a replaced socket can still be closed after its identity moved on.
  private readonly sessions = new Map<string, LocalPeer>();
  private readonly channel: string;

  constructor(
    readonly nodeId: string,
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    prefix: string,
    private readonly logger: Logger,
  ) {
    this.channel = `${prefix}:signal-bus`;
  }

  async start(): Promise<void> {
    this.subscriber.on('message', (_channel: string, raw: string) => this.receive(raw));
    await this.subscriber.subscribe(this.channel);
  }

  add(peer: LocalPeer): void {
    let room = this.peers.get(peer.room);
    if (!room) {
      room = new Map();
      this.peers.set(peer.room, room);
    }
    room.set(peer.identity, peer);
    this.sessions.set(peer.sessionId, peer);
  }

  remove(peer: LocalPeer): void {
    if (this.sessions.get(peer.sessionId) === peer) this.sessions.delete(peer.sessionId);
    const room = this.peers.get(peer.room);
    if (room?.get(peer.identity) !== peer) return;
    room.delete(peer.identity);
    if (room.size === 0) this.peers.delete(peer.room);
  }

  local(room: string, identity: string): LocalPeer | undefined {
    return this.peers.get(room)?.get(identity);
  }

  localPeers(): LocalPeer[] {
    return [...this.peers.values()].flatMap((room) => [...room.values()]);
  }

  /** Sends to a participant known to be on `node` (this replica or another). */
  async sendTo(node: string, room: string, identity: string, message: object): Promise<void> {
    if (node === this.nodeId) {
      this.local(room, identity)?.send(message);
      return;
    }
    await this.publish({ kind: 'direct', node, room, identity, message });
  }

  /** Sends to everyone in the room on every replica, except `except`. */
  async broadcast(room: string, message: object, except?: string): Promise<void> {
    this.deliverToRoom(room, message, except);
    await this.publish({ kind: 'room', origin: this.nodeId, room, except, message });
  }

  /** Closes a participant's socket if it is still the session given. */
  async closePeer(node: string, room: string, identity: string, sessionId: string, code: number, reason: string) {
    if (node === this.nodeId) {
      this.closeLocal(room, identity, sessionId, code, reason);
      return;
    }
    await this.publish({ kind: 'close', node, room, identity, sessionId, code, reason });
  }

  private closeLocal(room: string, identity: string, sessionId: string, code: number, reason: string) {
    const peer = sessionId ? this.sessions.get(sessionId) : this.local(room, identity);
    if (peer && peer.room === room && peer.identity === identity) peer.close(code, reason);
  }

  private deliverToRoom(room: string, message: object, except?: string) {
    for (const peer of this.peers.get(room)?.values() ?? []) {
      if (peer.identity !== except) peer.send(message);
    }
  }

  private async publish(message: BusMessage): Promise<void> {
    await this.publisher.publish(this.channel, JSON.stringify(message));
  }

  private receive(raw: string): void {
    let message: BusMessage;
    try {
      message = JSON.parse(raw) as BusMessage;
    } catch {
      this.logger.warn('signal bus message is not JSON; ignored');
      return;
    }
    if (message.kind === 'room') {
      if (message.origin !== this.nodeId) this.deliverToRoom(message.room, message.message, message.except);
    } else if (message.node === this.nodeId) {
      if (message.kind === 'direct') this.local(message.room, message.identity)?.send(message.message);
      else this.closeLocal(message.room, message.identity, message.sessionId, message.code, message.reason);
    }
  }
}
