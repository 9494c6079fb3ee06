/**
 * The overlay's per-link reliability: every overlay packet but `overlay.ack` carries a per-sender
 * `seq`; the receiver delivers it once (a bounded dedup cache) and acks it, batching the seqs per peer
 * until the next tick (delayed ack: one ack datagram per peer per tick instead of one per packet); the
 * sender retransmits it from the shared tick-driven {@link RetransmitTable} until acked. The first
 * retransmission delay must exceed the tick interval plus a round trip. Wave counts never include these
 * retransmissions or acks. Pure: time arrives as `nowMs`, sends are returned.
 */
import { PROTOCOL_VERSION } from "../protocol/limits.js";
import { ACK_SEQS_MAX, type OverlayAck, type OverlayPacket } from "../protocol/overlay-packets.js";
import { RetransmitTable } from "../reliable/retransmit-table.js";
import type { RetryPolicy } from "../reliable/retry-policy.js";
import { assert } from "../runtime/assert.js";
import { BoundedMap } from "../runtime/bounded-map.js";

/** An overlay packet that travels reliably (everything but the ack). */
export type ReliablePacket = Exclude<OverlayPacket, OverlayAck>;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A reliable packet before the link stamps `v`, `from` and `seq` on it. */
export type PacketDraft = DistributiveOmit<ReliablePacket, "seq" | "v" | "from">;

/** A datagram the shell must send to node `to`. */
export interface LinkSend {
  readonly to: string;
  readonly packet: OverlayPacket;
}

/** Limits of an {@link OverlayLink}. */
export interface LinkConfig {
  readonly id: string;
  /** Unacked packets at most; send() refuses (and counts) beyond it. */
  readonly unackedMax: number;
  /** (sender, seq) pairs remembered for dedup, each for dedupTtlMs; choose it above the retry span. */
  readonly dedupMax: number;
  readonly dedupTtlMs: number;
  readonly policy: RetryPolicy;
  /**
   * First `seq` this node uses (default 0). A daemon starts from its boot time so that after a
   * restart its new packets are not mistaken by peers for duplicates of the old incarnation's.
   */
  readonly seqStart?: number;
  /**
   * This node's incarnation (default 1): a daemon's boot time in ms, a new value after every restart.
   * Stamped on every packet as `boot`, with the receiver's last heard incarnation as `toBoot`.
   */
  readonly boot?: number;
  /**
   * Packet types taken only when they name this incarnation (`toBoot`); one naming none (0) is answered
   * with its seq in `retrySeqs` and the sender resends it stamped. The daemons require it of move
   * offers: an offer first sent before the giver knew the receiver's incarnation can then never be
   * taken by a later life of the receiver. (Waves, orders, replies and reports are harmless in a
   * later life: unknown waves and moves are ignored, and an order only moves the node's own tasks.)
   */
  readonly requireBootTypes?: ReadonlySet<ReliablePacket["type"]>;
  /**
   * A packet naming no incarnation is restamped for the peer's incarnation only within this long of
   * its first send (default: no limit); older, it is given up. The daemons pass `waveTimeoutMs`: a
   * giver presumes an unanswered offer moved then (the dispatcher follows it, and may place the tasks
   * elsewhere when the receiver restarts), so a later life of the receiver must never take it.
   */
  readonly restampAgeMaxMs?: number;
}

/** A packet awaiting its ack, with the time it was first sent. */
interface Tracked {
  readonly send: LinkSend;
  readonly firstMs: number;
}

/** Outcome of {@link OverlayLink.onPacket}. */
export interface LinkReceive {
  /** The packet to hand to the wave and move layers; undefined for acks and duplicates. */
  readonly deliver: ReliablePacket | undefined;
  /** An ack to send at once (a peer's batch reached ACK_SEQS_MAX); otherwise acks go out on the tick. */
  readonly ack: LinkSend | undefined;
  /** Why a packet was not delivered although it was not a duplicate: it belongs to another incarnation. */
  readonly dropped?: "stale_incarnation" | "stale_sender";
  /** The sender restarted (a higher incarnation than heard before); its earlier life's state is void. */
  readonly restartedPeer?: string | undefined;
}

/** Reliable, deduplicated overlay packets for one node over any number of links. */
export class OverlayLink {
  readonly #config: LinkConfig;
  /** BOUNDED: config.unackedMax; keyed by our seq. */
  readonly #unacked: RetransmitTable<number, Tracked>;
  /** BOUNDED: config.dedupMax entries, each kept config.dedupTtlMs. */
  readonly #seen: BoundedMap<string, true>;
  /** BOUNDED: one entry per peer that sent since the last tick, each ≤ ACK_SEQS_MAX seqs (then flushed). */
  readonly #acksDue = new Map<string, number[]>();
  /** BOUNDED: like #acksDue; seqs to answer with retrySeqs (packets that named no incarnation). */
  readonly #retriesDue = new Map<string, number[]>();
  /** BOUNDED: one per peer heard from; the shells deliver packets from topology nodes only. */
  readonly #peerBoots = new Map<string, number>();
  readonly #boot: number;
  #nextSeq = 0;
  droppedFullCount = 0;
  /** Packets meant for an earlier life of this node, or sent by an earlier life of their sender. */
  staleIncarnationCount = 0;
  duplicateCount = 0;
  /** Packets resent at once, stamped, because their receiver asked (retrySeqs): counted in retransmittedCount too. */
  restampedCount = 0;
  /** Packets naming no incarnation given up unstamped: too old when the peer asked for them stamped. */
  expiredUnstampedCount = 0;
  /** Move offers no longer resent because their giver presumed them moved (abandonOffer). */
  abandonedOfferCount = 0;

  constructor(config: LinkConfig) {
    this.#config = config;
    this.#unacked = new RetransmitTable(config.unackedMax);
    this.#seen = new BoundedMap(config.dedupMax, config.dedupTtlMs);
    assert(config.seqStart === undefined || Number.isSafeInteger(config.seqStart), "seqStart must be a safe integer");
    this.#nextSeq = config.seqStart ?? 0;
    this.#boot = config.boot ?? 1;
    assert(Number.isSafeInteger(this.#boot) && this.#boot >= 1, "boot must be a positive safe integer");
  }

  /** This node's incarnation. */
  get boot(): number {
    return this.#boot;
  }

  /** The incarnation last heard from `peer` (undefined: never heard). */
  peerBootOf(peer: string): number | undefined {
    return this.#peerBoots.get(peer);
  }

  /** Retransmissions so far (not counting first sends). */
  get retransmittedCount(): number {
    return this.#unacked.resentCount;
  }

  get unackedCount(): number {
    return this.#unacked.size;
  }

  /** True when onTick has something to do (resends pending or acks to flush). */
  get hasWork(): boolean {
    return this.#unacked.size > 0 || this.#acksDue.size > 0 || this.#retriesDue.size > 0;
  }

  /** Stamps and tracks `draft` for `to`; returns the first send, or undefined when the table is full. */
  send(nowMs: number, to: string, draft: PacketDraft): LinkSend | undefined {
    assert(to !== this.#config.id, `${this.#config.id}: a node does not send to itself`);
    if (this.#unacked.isFull) {
      this.droppedFullCount += 1;
      return undefined;
    }
    const seq = this.#nextSeq++;
    const toBoot = this.#peerBoots.get(to) ?? 0;
    const packet = {
      ...draft,
      v: PROTOCOL_VERSION,
      from: this.#config.id,
      boot: this.#boot,
      toBoot,
      seq,
    } as ReliablePacket;
    const send: LinkSend = { to, packet };
    this.#unacked.add(nowMs, seq, { send, firstMs: nowMs }, this.#config.policy);
    return send;
  }

  /**
   * Stops resending our move offer (`round`, `index`) to `to`, if still unacked: its giver presumed it
   * moved. Returns whether one was given up (counted in abandonedOfferCount). Scans the unacked table
   * (BOUNDED: unackedMax); a presumed move is rare.
   */
  abandonOffer(to: string, round: number, index: number): boolean {
    for (const { send } of this.#unacked.values()) {
      const { packet } = send;
      if (send.to !== to || packet.type !== "overlay.move" || packet.round !== round || packet.index !== index)
        continue;
      this.#unacked.settle(packet.seq);
      this.abandonedOfferCount += 1;
      return true;
    }
    return false;
  }

  /** Handles a decoded overlay packet addressed to us: settle acks, or dedup a packet and queue its ack. */
  onPacket(nowMs: number, packet: OverlayPacket): LinkReceive {
    const known = this.#peerBoots.get(packet.from);
    if (packet.boot !== undefined && known !== undefined && packet.boot < known) {
      // From an earlier life of the sender (delayed in the network): nothing of it is valid now.
      this.staleIncarnationCount += 1;
      return { deliver: undefined, ack: undefined, dropped: "stale_sender" };
    }
    const restartedPeer =
      packet.boot !== undefined && known !== undefined && packet.boot > known ? packet.from : undefined;
    if (packet.boot !== undefined && packet.boot !== known) this.#peerBoots.set(packet.from, packet.boot);
    const isForEarlierLife = packet.toBoot !== undefined && packet.toBoot !== 0 && packet.toBoot !== this.#boot;
    if (packet.type === "overlay.ack") {
      if (isForEarlierLife) return { deliver: undefined, ack: undefined, restartedPeer };
      for (const seq of packet.seqs) {
        if (this.#unacked.get(seq)?.send.to === packet.from) this.#unacked.settle(seq);
      }
      if (packet.boot !== undefined) this.#restamp(nowMs, packet.from, packet.boot, packet.retrySeqs ?? []);
      return { deliver: undefined, ack: undefined, restartedPeer };
    }
    if ((packet.toBoot ?? 0) === 0 && this.#config.requireBootTypes?.has(packet.type) === true) {
      // Names no incarnation: ask for it again, stamped with ours (the ack carries our boot).
      const seqs = this.#retriesDue.get(packet.from) ?? [];
      if (!seqs.includes(packet.seq) && seqs.length < ACK_SEQS_MAX) seqs.push(packet.seq);
      this.#retriesDue.set(packet.from, seqs);
      return { deliver: undefined, ack: undefined, restartedPeer };
    }
    const ack = this.#queueAck(packet.from, packet.seq);
    if (isForEarlierLife) {
      // Meant for this node's earlier life: acked (so the sender stops resending), never acted on.
      this.staleIncarnationCount += 1;
      return { deliver: undefined, ack, dropped: "stale_incarnation", restartedPeer };
    }
    const key = `${packet.from}|${packet.seq}`;
    if (this.#seen.has(nowMs, key)) {
      this.duplicateCount += 1;
      return { deliver: undefined, ack, restartedPeer };
    }
    this.#seen.set(nowMs, key, true);
    return { deliver: packet, ack, restartedPeer };
  }

  /** Acks to flush, then packets whose retransmission is due. */
  onTick(nowMs: number): LinkSend[] {
    this.#seen.prune(nowMs);
    const sends: LinkSend[] = [];
    for (const [peer, seqs] of this.#acksDue) sends.push(this.#ackOf(peer, seqs, this.#retriesDue.get(peer)));
    for (const [peer, retrySeqs] of this.#retriesDue)
      if (!this.#acksDue.has(peer)) sends.push(this.#ackOf(peer, [], retrySeqs));
    this.#acksDue.clear();
    this.#retriesDue.clear();
    for (const entry of this.#unacked.due(nowMs)) sends.push(entry.value.send);
    return sends;
  }

  #queueAck(peer: string, seq: number): LinkSend | undefined {
    const seqs = this.#acksDue.get(peer);
    if (seqs === undefined) {
      this.#acksDue.set(peer, [seq]);
      return undefined;
    }
    if (!seqs.includes(seq)) seqs.push(seq);
    if (seqs.length < ACK_SEQS_MAX) return undefined;
    this.#acksDue.delete(peer);
    return this.#ackOf(peer, seqs);
  }

  #ackOf(peer: string, seqs: number[], retrySeqs?: number[]): LinkSend {
    const toBoot = this.#peerBoots.get(peer) ?? 0;
    const packet: OverlayAck = {
      v: PROTOCOL_VERSION,
      from: this.#config.id,
      boot: this.#boot,
      toBoot,
      type: "overlay.ack",
      seqs,
    };
    return { to: peer, packet: retrySeqs === undefined ? packet : { ...packet, retrySeqs } };
  }

  /**
   * `peer` (incarnation `boot`) asks for these packets stamped: only those still naming no
   * incarnation get `boot` and go out again at once; one already naming an incarnation keeps it. One
   * first sent more than restampAgeMaxMs ago is given up instead (see LinkConfig.restampAgeMaxMs).
   */
  #restamp(nowMs: number, peer: string, boot: number, retrySeqs: readonly number[]): void {
    const ageMaxMs = this.#config.restampAgeMaxMs ?? Number.POSITIVE_INFINITY;
    for (const seq of retrySeqs) {
      const tracked = this.#unacked.get(seq);
      const send = tracked?.send;
      if (send?.to !== peer || send.packet.type === "overlay.ack" || (send.packet.toBoot ?? 0) !== 0) continue;
      this.#unacked.settle(seq);
      if (nowMs - (tracked as Tracked).firstMs >= ageMaxMs) {
        this.expiredUnstampedCount += 1;
        continue;
      }
      const restamped = {
        send: { to: peer, packet: { ...send.packet, toBoot: boot } },
        firstMs: (tracked as Tracked).firstMs,
      };
      this.#unacked.add(nowMs, seq, restamped, this.#config.policy);
      this.#unacked.expedite(nowMs, seq);
      this.restampedCount += 1;
    }
  }
}
