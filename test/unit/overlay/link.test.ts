/**
 * Goal: the overlay link delivers each packet once, acks in batches per peer, retransmits until acked
 * on the shared RetransmitTable schedule, and refuses (counted) when full; echo reports larger than a
 * datagram split into parts that reassemble exactly, and inconsistent parts are rejected.
 * Method: two OverlayLinks and hand-fed packets with explicit nowMs; big reports through the real
 * codec to prove every part fits DATAGRAM_BYTES_MAX.
 */
import { describe, expect, it } from "vitest";
import type { ReportEntry, SubtreeReport } from "../../../src/overlay/echo.js";
import { EchoAssembler, splitReport } from "../../../src/overlay/echo-parts.js";
import { OverlayLink } from "../../../src/overlay/link.js";
import { encodePacket } from "../../../src/protocol/codec.js";
import { DATAGRAM_BYTES_MAX } from "../../../src/protocol/limits.js";
import { ECHO_ENTRIES_PER_PART_MAX, type WaveEcho } from "../../../src/protocol/overlay-packets.js";
import { retryPolicy } from "../../../src/reliable/retry-policy.js";

const link = (id: string, unackedMax = 8) =>
  new OverlayLink({ id, unackedMax, dedupMax: 16, dedupTtlMs: 1_000, policy: retryPolicy([30, 60]) });

describe("OverlayLink", () => {
  it("delivers once, acks on the tick, and stops retransmitting once acked", () => {
    const a = link("a");
    const b = link("b");
    const first = a.send(0, "b", { type: "wave.explore", waveId: 1 });
    expect(first?.packet).toEqual({ type: "wave.explore", waveId: 1, v: 1, from: "a", seq: 0 });
    const packet = first?.packet as Parameters<OverlayLink["onPacket"]>[1];
    expect(b.onPacket(1, packet).deliver).toEqual(packet);
    expect(b.onPacket(2, packet).deliver).toBeUndefined(); // duplicate
    expect(b.duplicateCount).toBe(1);
    expect(a.onTick(29)).toEqual([]);
    expect(a.onTick(30)).toEqual([first]); // not acked yet: resent
    expect(a.retransmittedCount).toBe(1);
    const acks = b.onTick(31);
    expect(acks).toEqual([{ to: "a", packet: { v: 1, from: "b", type: "overlay.ack", seqs: [0] } }]);
    a.onPacket(32, acks[0]?.packet as Parameters<OverlayLink["onPacket"]>[1]);
    expect(a.unackedCount).toBe(0);
    expect(a.onTick(1_000)).toEqual([]);
  });

  it("ignores acks from a node the packet was not sent to, and refuses sends when full", () => {
    const a = link("a", 1);
    expect(a.send(0, "b", { type: "wave.explore", waveId: 1 })).toBeDefined();
    a.onPacket(1, { v: 1, from: "c", type: "overlay.ack", seqs: [0] });
    expect(a.unackedCount).toBe(1);
    expect(a.send(0, "b", { type: "wave.explore", waveId: 2 })).toBeUndefined();
    expect(a.droppedFullCount).toBe(1);
  });
});

function bigReport(nodeCount: number): SubtreeReport {
  const entries: ReportEntry[] = Array.from({ length: nodeCount }, (_, k) => [
    `node-${"x".repeat(50)}-${k}`,
    k === 0 ? 0 : 1,
    1024,
    1_000_000,
  ]);
  return { nodeCount, slotsSum: nodeCount * 1024, queuedSum: nodeCount * 1_000_000, entries };
}

describe("echo parts", () => {
  it("split big reports into parts that each fit a datagram and reassemble in any order", () => {
    const report = bigReport(ECHO_ENTRIES_PER_PART_MAX * 3 + 7);
    const parts = splitReport(report);
    expect(parts).toHaveLength(4);
    for (const part of parts) {
      const packet: WaveEcho = {
        v: 1,
        from: "a-long-node-name",
        type: "wave.echo",
        seq: 2 ** 40,
        waveId: 2 ** 40,
        ...part,
      };
      expect(encodePacket(packet).byteLength).toBeLessThanOrEqual(DATAGRAM_BYTES_MAX);
    }
    const assembler = new EchoAssembler(4);
    const [p0, p1, p2, p3] = parts as [(typeof parts)[0], (typeof parts)[0], (typeof parts)[0], (typeof parts)[0]];
    expect(assembler.add("c", 1, p2).kind).toBe("incomplete");
    expect(assembler.add("c", 1, p0).kind).toBe("incomplete");
    expect(assembler.add("c", 1, p0)).toEqual({ kind: "rejected", reason: "duplicate_part" });
    expect(assembler.add("c", 1, p3).kind).toBe("incomplete");
    expect(assembler.add("c", 1, p1)).toEqual({ kind: "complete", report });
    expect(assembler.pendingCount).toBe(0);
  });

  it("rejects parts whose entries do not add up or whose parent gaps point outside the report", () => {
    const assembler = new EchoAssembler(1);
    const [part] = splitReport(bigReport(3));
    if (part === undefined) throw new Error("no part");
    expect(assembler.add("c", 1, { ...part, queuedSum: 1 }).kind).toBe("rejected");
    expect(assembler.add("c", 1, { ...part, parentGaps: [0, 2, 1] })).toEqual({
      kind: "rejected",
      reason: "inconsistent",
    });
    expect(assembler.add("c", 1, { ...part, slots: [1] })).toEqual({ kind: "rejected", reason: "inconsistent" });
    const [a] = splitReport(bigReport(ECHO_ENTRIES_PER_PART_MAX + 1));
    if (a === undefined) throw new Error("no part");
    expect(assembler.add("c", 1, a).kind).toBe("incomplete");
    expect(assembler.add("d", 1, a)).toEqual({ kind: "rejected", reason: "full" });
    assembler.forgetBefore(2);
    expect(assembler.pendingCount).toBe(0);
  });
});
