/**
 * Goal: SendBatcher adds no delay to a lone packet and loses, reorders or mixes up nothing: the
 * first packet for a peer in a turn leaves at once and bare, the rest for that peer leave at the end
 * of the turn in as few frames as fit, peers never share a datagram, a new turn starts fresh, the
 * hold is bounded, and our own invalid packet throws at the producer.
 * Method: a recording transport and a manual scheduler (the test ends each turn itself).
 */
import { describe, expect, it } from "vitest";

import { decodeDatagram } from "../../../src/protocol/codec.js";
import type { Packet } from "../../../src/protocol/packet.js";
import { PENDING_PACKETS_MAX, SendBatcher } from "../../../src/shell/send-batcher.js";
import type { Endpoint, Transport } from "../../../src/transport/transport.js";

const A: Endpoint = { host: "10.0.0.1", port: 7001 };
const B: Endpoint = { host: "10.0.0.2", port: 7002 };

interface Harness {
  readonly batcher: SendBatcher;
  readonly sent: { to: Endpoint; packets: Packet[] }[];
  /** Runs the scheduled end-of-turn flushes; returns how many there were. */
  endTurn(): number;
  readonly scheduledCount: () => number;
}

function harness(): Harness {
  const sent: { to: Endpoint; packets: Packet[] }[] = [];
  const transport: Transport = {
    local: { host: "10.0.0.9", port: 5555 },
    send: (to, bytes) => {
      const contents = decodeDatagram(bytes);
      expect(contents.errors).toEqual([]);
      sent.push({ to, packets: contents.packets });
    },
    onReceive: () => undefined,
    close: () => Promise.resolve(),
  };
  let scheduled: (() => void)[] = [];
  let scheduledTotal = 0;
  const batcher = new SendBatcher(transport, (flush) => {
    scheduled.push(flush);
    scheduledTotal += 1;
  });
  return {
    batcher,
    sent,
    endTurn: () => {
      const due = scheduled;
      scheduled = [];
      for (const flush of due) flush();
      return due.length;
    },
    scheduledCount: () => scheduledTotal,
  };
}

function result(n: number): Packet {
  const taskId = `3f2a1c9e-5b7d-4e8f-9a0b-${n.toString(16).padStart(12, "0")}`;
  return { v: 1, from: "dispatcher", type: "task.result", taskId, result: "a".repeat(64), attempts: 1 };
}

describe("SendBatcher", () => {
  it("sends the first packet for a peer at once, bare, and the rest of the turn as one frame", () => {
    const h = harness();
    h.batcher.send(A, result(1));
    expect(h.sent).toEqual([{ to: A, packets: [result(1)] }]);
    for (let n = 2; n <= 5; n += 1) h.batcher.send(A, result(n));
    expect(h.sent).toHaveLength(1);
    expect(h.batcher.pendingCount).toBe(4);
    expect(h.endTurn()).toBe(1);
    expect(h.sent).toEqual([
      { to: A, packets: [result(1)] },
      { to: A, packets: [result(2), result(3), result(4), result(5)] },
    ]);
    expect({ datagrams: h.batcher.datagramCount, frames: h.batcher.frameCount }).toEqual({ datagrams: 2, frames: 1 });
  });

  it("keeps peers apart and each peer's order", () => {
    const h = harness();
    h.batcher.send(A, result(1));
    h.batcher.send(B, result(2));
    h.batcher.send(A, result(3));
    h.batcher.send(B, result(4));
    h.batcher.send(A, result(5));
    h.endTurn();
    const to = (peer: Endpoint): Packet[] => h.sent.filter((s) => s.to === peer).flatMap((s) => s.packets);
    expect(to(A)).toEqual([result(1), result(3), result(5)]);
    expect(to(B)).toEqual([result(2), result(4)]);
  });

  it("starts every turn fresh: after a flush the next packet leaves at once again", () => {
    const h = harness();
    h.batcher.send(A, result(1));
    h.endTurn();
    h.batcher.send(A, result(2));
    expect(h.sent.map((s) => s.packets)).toEqual([[result(1)], [result(2)]]);
    expect(h.scheduledCount()).toBe(2);
  });

  it("schedules one flush per turn however many packets it holds", () => {
    const h = harness();
    for (let n = 1; n <= 50; n += 1) h.batcher.send(n % 2 === 0 ? A : B, result(n));
    expect(h.scheduledCount()).toBe(1);
    h.endTurn();
    expect(h.sent.flatMap((s) => s.packets)).toHaveLength(50);
  });

  it("flushes at once when PENDING_PACKETS_MAX packets are held, without waiting for the turn to end", () => {
    const h = harness();
    for (let n = 1; n <= PENDING_PACKETS_MAX; n += 1) h.batcher.send(A, result(n));
    expect(h.batcher.pendingCount).toBe(0);
    expect(h.sent.flatMap((s) => s.packets)).toHaveLength(PENDING_PACKETS_MAX);
    expect(h.sent.flatMap((s) => s.packets).map((p) => (p as { taskId: string }).taskId)).toEqual(
      Array.from({ length: PENDING_PACKETS_MAX }, (_, i) => (result(i + 1) as { taskId: string }).taskId),
    );
  });

  it("stays right past PENDING_PACKETS_MAX remembered peers: each turn's first packet is bare, the rest framed", () => {
    const h = harness();
    const peer = (i: number): Endpoint => ({ host: "10.1.0.1", port: 10_000 + i });
    let rememberedMax = 0;
    for (let i = 0; i < 2 * PENDING_PACKETS_MAX + 10; i += 1) {
      h.batcher.send(A, result(i));
      h.batcher.send(A, result(i)); // held while the new peer below arrives
      h.batcher.send(peer(i), result(i));
      rememberedMax = Math.max(rememberedMax, h.batcher.rememberedPeerCount);
      h.endTurn();
    }
    // Every turn: one bare and one held (then sent alone) packet to A, one bare packet to its new peer.
    expect(h.sent).toHaveLength(3 * (2 * PENDING_PACKETS_MAX + 10));
    expect(rememberedMax).toBeLessThanOrEqual(2 * PENDING_PACKETS_MAX);
    expect(h.batcher.rememberedPeerCount).toBeLessThan(PENDING_PACKETS_MAX);
    h.batcher.send(peer(0), result(1));
    h.batcher.send(peer(0), result(2));
    expect(h.batcher.pendingCount).toBe(1);
    h.endTurn();
    expect(h.sent.slice(-2).map((s) => s.packets.length)).toEqual([1, 1]);
  }, 20_000); // about 8 000 turns with a decode per datagram: over a second on a slow machine

  it("throws at send() on our own invalid packet and holds nothing for it", () => {
    const h = harness();
    h.batcher.send(A, result(1));
    expect(() => h.batcher.send(A, { ...result(2), result: "not hex" } as Packet)).toThrow();
    expect(h.batcher.pendingCount).toBe(0);
  });
});
