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
    expect(first?.packet).toEqual({ type: "wave.explore", waveId: 1, v: 1, from: "a", boot: 1, toBoot: 0, seq: 0 });
    const packet = first?.packet as Parameters<OverlayLink["onPacket"]>[1];
    expect(b.onPacket(1, packet).deliver).toEqual(packet);
    expect(b.onPacket(2, packet).deliver).toBeUndefined(); // duplicate
    expect(b.duplicateCount).toBe(1);
    expect(a.onTick(29)).toEqual([]);
    expect(a.onTick(30)).toEqual([first]); // not acked yet: resent
    expect(a.retransmittedCount).toBe(1);
    const acks = b.onTick(31);
    expect(acks).toEqual([
      { to: "a", packet: { v: 1, from: "b", boot: 1, toBoot: 1, type: "overlay.ack", seqs: [0] } },
    ]);
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

describe("OverlayLink incarnations", () => {
  const withBoot = (id: string, boot: number) =>
    new OverlayLink({
      id,
      unackedMax: 8,
      dedupMax: 16,
      dedupTtlMs: 60_000,
      policy: retryPolicy([30, 60]),
      boot,
      seqStart: boot * 1_000,
    });
  type Incoming = Parameters<OverlayLink["onPacket"]>[1];

  it("a restarted node never acts on a packet meant for its earlier life, but acks it so the resends stop", () => {
    const giver = withBoot("g", 5);
    const oldReceiver = withBoot("r", 100);
    const hello = oldReceiver.send(0, "g", { type: "wave.explore", waveId: 1 })?.packet as Incoming;
    giver.onPacket(1, hello); // the giver now knows r's incarnation 100
    const offer = giver.send(2, "r", { type: "overlay.move", round: 1, index: 0, tasks: [] })?.packet as Incoming;
    expect(offer).toMatchObject({ boot: 5, toBoot: 100 });
    const newReceiver = withBoot("r", 200); // r restarted before the offer arrived
    const received = newReceiver.onPacket(3, offer);
    expect(received.deliver).toBeUndefined();
    expect(received.dropped).toBe("stale_incarnation");
    expect(newReceiver.staleIncarnationCount).toBe(1);
    const [ack] = newReceiver.onTick(4);
    expect(ack?.packet).toMatchObject({ type: "overlay.ack", boot: 200, toBoot: 5 });
    const settled = giver.onPacket(5, ack?.packet as Incoming);
    expect(settled.restartedPeer).toBe("r");
    expect(giver.unackedCount).toBe(0);
    expect(giver.peerBootOf("r")).toBe(200);
    // The same offer meant for the new life is delivered.
    const again = giver.send(6, "r", { type: "overlay.move", round: 1, index: 1, tasks: [] })?.packet as Incoming;
    expect(newReceiver.onPacket(7, again).deliver).toEqual(again);
  });

  it("a packet from an earlier life of its sender is dropped once the newer life was heard", () => {
    const receiver = withBoot("r", 7);
    const oldSender = withBoot("s", 10);
    const newSender = withBoot("s", 20);
    const late = oldSender.send(0, "r", { type: "wave.explore", waveId: 3 })?.packet as Incoming;
    const fresh = newSender.send(1, "r", { type: "wave.explore", waveId: 4 })?.packet as Incoming;
    expect(receiver.onPacket(2, fresh).deliver).toEqual(fresh);
    const stale = receiver.onPacket(3, late);
    expect(stale).toMatchObject({ deliver: undefined, ack: undefined, dropped: "stale_sender" });
    expect(receiver.staleIncarnationCount).toBe(1);
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
    const parts = splitReport(report) ?? [];
    expect(parts).toHaveLength(4);
    for (const part of parts) {
      const packet: WaveEcho = {
        v: 1,
        from: "a-long-node-name",
        boot: Number.MAX_SAFE_INTEGER,
        toBoot: Number.MAX_SAFE_INTEGER,
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
    const [part] = splitReport(bigReport(3)) ?? [];
    if (part === undefined) throw new Error("no part");
    expect(assembler.add("c", 1, { ...part, queuedSum: 1 }).kind).toBe("rejected");
    expect(assembler.add("c", 1, { ...part, parentGaps: [0, 2, 1] })).toEqual({
      kind: "rejected",
      reason: "inconsistent",
    });
    expect(assembler.add("c", 1, { ...part, slots: [1] })).toEqual({ kind: "rejected", reason: "inconsistent" });
    const [a] = splitReport(bigReport(ECHO_ENTRIES_PER_PART_MAX + 1)) ?? [];
    if (a === undefined) throw new Error("no part");
    expect(assembler.add("c", 1, a).kind).toBe("incomplete");
    expect(assembler.add("d", 1, a)).toEqual({ kind: "rejected", reason: "full" });
    assembler.forgetBefore(2);
    expect(assembler.pendingCount).toBe(0);
  });
});

describe("OverlayLink: offers name their receiver's incarnation", () => {
  type Incoming = Parameters<OverlayLink["onPacket"]>[1];
  const strict = (id: string, boot: number) =>
    new OverlayLink({
      id,
      unackedMax: 8,
      dedupMax: 16,
      dedupTtlMs: 60_000,
      policy: retryPolicy([100, 200]),
      boot,
      seqStart: boot * 1_000,
      requireBootTypes: new Set(["overlay.move"]),
    });

  it("an offer sent before the giver knew the receiver's incarnation is asked again, stamped, then taken", () => {
    const giver = strict("g", 5);
    const receiver = strict("r", 100);
    const offer = giver.send(0, "r", { type: "overlay.move", round: 1, index: 0, tasks: [] })?.packet as Incoming;
    expect(offer).toMatchObject({ toBoot: 0 });
    expect(receiver.onPacket(1, offer).deliver).toBeUndefined();
    const [retry] = receiver.onTick(2);
    expect(retry?.packet).toMatchObject({
      type: "overlay.ack",
      seqs: [],
      retrySeqs: [(offer as { seq: number }).seq],
      boot: 100,
    });
    giver.onPacket(3, retry?.packet as Incoming);
    const [again] = giver.onTick(4);
    expect(again?.packet).toMatchObject({ type: "overlay.move", seq: (offer as { seq: number }).seq, toBoot: 100 });
    expect(receiver.onPacket(5, again?.packet as Incoming).deliver).toMatchObject({ type: "overlay.move" });
  });

  it("a restarted receiver never takes an offer first sent to its earlier life", () => {
    const giver = strict("g", 5);
    const offer = giver.send(0, "r", { type: "overlay.move", round: 1, index: 0, tasks: [] })?.packet as Incoming;
    const oldLife = strict("r", 100);
    oldLife.onPacket(1, offer);
    const [retry] = oldLife.onTick(2);
    giver.onPacket(3, retry?.packet as Incoming); // stamped for r#100, which dies before taking it
    const newLife = strict("r", 200);
    expect(newLife.onPacket(4, offer).deliver).toBeUndefined(); // the unstamped copy, still in flight
    const [newRetry] = newLife.onTick(5);
    giver.onPacket(6, newRetry?.packet as Incoming); // already stamped for r#100: kept
    const [resent] = giver.onTick(7);
    expect(resent?.packet).toMatchObject({ toBoot: 100 });
    expect(newLife.onPacket(8, resent?.packet as Incoming)).toMatchObject({
      deliver: undefined,
      dropped: "stale_incarnation",
    });
  });
  it("an unstamped offer older than restampAgeMaxMs is given up, not stamped for whatever life asks (seeds 1019, 1109)", () => {
    // The giver never heard r#100 before offering; r#100 died without answering. By the time r#200
    // asks for the offer stamped, the giver has presumed it moved (waveTimeoutMs) and the dispatcher
    // may have placed its tasks elsewhere: r#200 must not take it.
    const aged = (id: string, boot: number) =>
      new OverlayLink({
        id,
        unackedMax: 8,
        dedupMax: 16,
        dedupTtlMs: 60_000,
        policy: retryPolicy([100, 200]),
        boot,
        seqStart: boot * 1_000,
        requireBootTypes: new Set(["overlay.move"]),
        restampAgeMaxMs: 2_000,
      });
    const giver = aged("g", 5);
    const offer = giver.send(0, "r", { type: "overlay.move", round: 1, index: 0, tasks: [] })?.packet as Incoming;
    const newLife = aged("r", 200);
    expect(newLife.onPacket(2_500, offer).deliver).toBeUndefined();
    const [retry] = newLife.onTick(2_501);
    giver.onPacket(2_502, retry?.packet as Incoming);
    expect(giver.expiredUnstampedCount).toBe(1);
    expect(giver.unackedCount).toBe(0); // given up: never resent again
    expect(giver.onTick(10_000)).toEqual([]);
    // Within the age it is stamped as before.
    const young = giver.send(3_000, "r", { type: "overlay.move", round: 1, index: 1, tasks: [] })?.packet as Incoming;
    expect(young).toMatchObject({ toBoot: 200 }); // the giver knows r#200 now
    const fresh = aged("g", 6);
    const unstamped = fresh.send(0, "r", { type: "overlay.move", round: 1, index: 2, tasks: [] })?.packet as Incoming;
    newLife.onPacket(1_000, unstamped);
    const [ask] = newLife.onTick(1_001);
    fresh.onPacket(1_002, ask?.packet as Incoming);
    const [stamped] = fresh.onTick(1_003);
    expect(stamped?.packet).toMatchObject({ type: "overlay.move", toBoot: 200 });
  });
});
