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

/** A peer already sent to this turn, and what is held for it. */
interface PeerQueue {
  readonly to: Endpoint;
  readonly from: string;
  readonly texts: string[];
}

/** Per-peer send queues of one host; a turn ends when the {@link FlushScheduler} calls flush. */
export class SendBatcher {
  /** BOUNDED: at most PENDING_PACKETS_MAX peers and held packets (reaching it flushes at once). */
  readonly #turn = new Map<string, PeerQueue>();
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
    const key = `${to.host}|${to.port}|${packet.from}`;
    const queue = this.#turn.get(key);
    if (queue === undefined) {
      const bytes = encodePacket(packet);
      this.#turn.set(key, { to, from: packet.from, texts: [] });
      this.#send(to, bytes, 1);
    } else {
      queue.texts.push(encodePacketText(packet));
      this.#heldCount += 1;
    }
    if (this.#heldCount + this.#turn.size >= PENDING_PACKETS_MAX) this.flush();
    else if (!this.#isScheduled) {
      this.#isScheduled = true;
      this.#schedule(() => this.flush());
    }
  }

  /** Packets held for the end of the turn. */
  get pendingCount(): number {
    return this.#heldCount;
  }

  /** Ends the turn: sends everything held (a flush that finds nothing only resets the turn). */
  flush(): void {
    this.#isScheduled = false;
    if (this.#heldCount > 0) {
      // Sending cannot re-enter send(): the transport only hands the datagram to the kernel.
      for (const queue of this.#turn.values()) {
        if (queue.texts.length === 0) continue;
        for (const datagram of packDatagrams(queue.from, queue.texts)) {
          this.#send(queue.to, datagram.bytes, datagram.packetCount);
        }
      }
    }
    this.#heldCount = 0;
    this.#turn.clear();
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
