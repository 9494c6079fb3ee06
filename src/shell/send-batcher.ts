/**
 * Coalesces a host's outbound packets per peer within one event-loop turn. The first packet for a
 * peer in a turn goes out at once, bare, so a lone request or answer waits for nothing; the packets
 * that follow it to the same peer in the same turn are held and sent at the end of the turn in as
 * few datagrams as fit (a `batch` frame, see protocol/batch.ts). Under load a daemon handles many
 * datagrams per wake-up and answers each with a packet to the same few peers: two datagrams per peer
 * per turn instead of one per packet cuts the system calls and receiver wake-ups that dominate the
 * CPU cost of a task. The daemons end a turn with `setImmediate` (after the I/O callbacks of the
 * poll, before any timer).
 */
import { packDatagrams } from "../protocol/batch.js";
import { encodePacket, encodePacketText } from "../protocol/codec.js";
import type { Packet } from "../protocol/packet.js";
import type { Endpoint, Transport } from "../transport/transport.js";

/** Runs `flush` once, soon (daemons: setImmediate; simulations: after the current step). */
export type FlushScheduler = (flush: () => void) => void;

/** Packets held before a flush is forced at once, whatever the scheduler does. */
export const PENDING_PACKETS_MAX = 4_096;

/** A peer (and sender id) seen recently: the turn it was last sent to in, and what is held for it. */
interface PeerQueue {
  readonly to: Endpoint;
  readonly from: string;
  readonly texts: string[];
  /** The turn in which this peer last got a packet; a different number means "not yet this turn". */
  turn: number;
}

/** Per-peer send queues of one host; a turn ends when the {@link FlushScheduler} calls flush. */
export class SendBatcher {
  /**
   * Queues of the peers sent to recently, kept across turns and told apart by their `turn` stamp.
   * Clearing a Map per turn, or emptying it, makes V8 allocate a fresh hash table whose predecessor
   * (already promoted, since the batcher lives long) keeps pointing at it: measured as the largest
   * source of objects promoted by the dispatcher's scavenges, one table per turn until the next full
   * collection. BOUNDED: cleared at a flush once it knows PENDING_PACKETS_MAX peers, and a turn adds at
   * most PENDING_PACKETS_MAX before it is flushed, so it never holds more than twice that.
   */
  readonly #queues = new Map<string, PeerQueue>();
  /** Queues holding packets this turn, in the order they started holding. BOUNDED: as #queues. */
  readonly #holding: PeerQueue[] = [];
  #turn = 0;
  /** Peers sent to in this turn (bare first packets). */
  #peerCount = 0;
  #heldCount = 0;
  #isScheduled = false;
  /** Datagrams sent, and how many of them were batch frames (for tests and metrics). */
  datagramCount = 0;
  frameCount = 0;
  readonly #transport: Transport;
  readonly #schedule: FlushScheduler;

  constructor(transport: Transport, schedule: FlushScheduler) {
    this.#transport = transport;
    this.#schedule = schedule;
  }

  /** Sends `packet` to `to` now if it is the first for that peer this turn, else holds it. Throws on our own invalid packet. */
  send(to: Endpoint, packet: Packet): void {
    const queue = this.#queueFor(to, packet.from);
    if (queue.turn !== this.#turn) {
      const bytes = encodePacket(packet);
      queue.turn = this.#turn;
      this.#peerCount += 1;
      this.#send(to, bytes, 1);
    } else {
      const text = encodePacketText(packet);
      if (queue.texts.length === 0) this.#holding.push(queue);
      queue.texts.push(text);
      this.#heldCount += 1;
    }
    if (this.#heldCount + this.#peerCount >= PENDING_PACKETS_MAX) this.flush();
    else if (!this.#isScheduled) {
      this.#isScheduled = true;
      this.#schedule(() => this.flush());
    }
  }

  /** Packets held for the end of the turn. */
  get pendingCount(): number {
    return this.#heldCount;
  }

  /** Ends the turn: sends everything held (a flush that finds nothing only starts a new turn). */
  flush(): void {
    this.#isScheduled = false;
    // Sending cannot re-enter send(): the transport only hands the datagram to the kernel.
    for (const queue of this.#holding) {
      for (const datagram of packDatagrams(queue.from, queue.texts)) {
        this.#send(queue.to, datagram.bytes, datagram.packetCount);
      }
      queue.texts.length = 0;
    }
    this.#holding.length = 0;
    this.#heldCount = 0;
    this.#peerCount = 0;
    this.#turn += 1;
    // Only here, with nothing held: a queue forgotten mid-turn would lose its packets.
    if (this.#queues.size >= PENDING_PACKETS_MAX) this.#queues.clear();
  }

  /** Peers remembered across turns (for tests of the bound). */
  get rememberedPeerCount(): number {
    return this.#queues.size;
  }

  #queueFor(to: Endpoint, from: string): PeerQueue {
    const key = `${to.host}|${to.port}|${from}`;
    let queue = this.#queues.get(key);
    if (queue === undefined) {
      queue = { to, from, texts: [], turn: this.#turn - 1 };
      this.#queues.set(key, queue);
    }
    return queue;
  }

  #send(to: Endpoint, bytes: Uint8Array, packetCount: number): void {
    this.datagramCount += 1;
    if (packetCount > 1) this.frameCount += 1;
    this.#transport.send(to, bytes);
  }
}

/**
 * The daemons' scheduler: flush in the check phase of this event-loop turn, after every datagram
 * that arrived in the same poll has been handled, and before any timer.
 */
export const flushAfterIo: FlushScheduler = (flush) => {
  setImmediate(flush);
};
