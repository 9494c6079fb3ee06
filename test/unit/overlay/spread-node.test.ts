/**
 * Goal: the daemons' Finn spread (spread-node.ts, spread-shares.ts) gives every node its ⌊share⌋ or
 * ⌈share⌉ by slots exactly once, in the index range every node computes alike, after it heard all its
 * parents; the root reports the end only once every claim was answered, with E + N − 1 wave messages;
 * a node that never hears the wave leaves the root to end it as timed_out.
 * Method: one SpreadNode per node of seeded random DAGs and trees; wave packets delivered in a seeded
 * random order (what the link layer may do), claims answered by the test at random moments.
 */
import fc from "fast-check";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { generateTopology } from "../../../src/overlay/generate.js";
import type { PacketDraft } from "../../../src/overlay/link.js";
import { SpreadNode } from "../../../src/overlay/spread-node.js";
import { spreadRangeOf, spreadShares } from "../../../src/overlay/spread-shares.js";
import { parseTopology, type Topology } from "../../../src/overlay/tree.js";
import type { Packet } from "../../../src/protocol/packet.js";
import { type Rng, seededRng } from "../../../src/runtime/rng.js";

const BATCH = "3f2a1c9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b";
const DISPATCHER = { host: "10.0.0.9", port: 5555 };
const silent = pino({ level: "silent" });

function topologyOf(kind: "tree" | "dag", nodes: number, seed: number): Topology {
  const parsed = parseTopology(generateTopology({ kind, nodes, seed, fanoutMax: 3, slotsMax: 4, parentsMax: 3 }));
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.topology;
}

interface Run {
  readonly claims: Map<string, { first: number; count: number }[]>;
  readonly ends: Packet[];
  /** Claims not yet answered when the root's end went out. */
  readonly unansweredAtEnd: number;
}

/** Runs one wave of `count` tasks; `isCut(id)` nodes never receive anything. */
function runWave(topology: Topology, count: number, rng: Rng, isCut: (id: string) => boolean): Run {
  const inFlight: { to: string; packet: Packet }[] = [];
  const claims = new Map<string, { first: number; count: number }[]>();
  const pending: { to: string; first: number }[] = [];
  const ends: Packet[] = [];
  let unansweredAtEnd = -1;
  let nowMs = 0;
  const nodes = new Map<string, SpreadNode>();
  for (const id of topology.ids) {
    const ports = {
      log: silent,
      sendOverlay: (_at: number, to: string, draft: PacketDraft) =>
        inFlight.push({ to, packet: { ...draft, v: 1, from: id, seq: 0 } as Packet }),
      sendTo: (_to: unknown, packet: Packet) => {
        if (packet.type === "spread.claim") {
          const list = claims.get(id) ?? [];
          if (!list.some((c) => c.first === packet.first)) list.push({ first: packet.first, count: packet.count });
          claims.set(id, list);
          pending.push({ to: id, first: packet.first });
        } else if (packet.type === "spread.end") {
          if (unansweredAtEnd < 0) unansweredAtEnd = pending.length;
          ends.push(packet);
        }
      },
      drop: () => undefined,
    };
    const config = { nodeId: id, topology, boot: 1, waveTimeoutMs: 5_000, dispatcher: DISPATCHER };
    nodes.set(id, new SpreadNode(config, ports));
  }
  const root = nodes.get(topology.ids[topology.root] as string) as SpreadNode;
  root.onStart(nowMs, DISPATCHER, { v: 1, type: "spread.start", from: "dispatcher", batchId: BATCH, count });
  for (let step = 0; step < 100_000 && (inFlight.length > 0 || pending.length > 0); step += 1) {
    nowMs += 1;
    if (pending.length > 0 && (inFlight.length === 0 || rng() < 0.3)) {
      const [claim] = pending.splice(Math.floor(rng() * pending.length), 1);
      if (claim === undefined) continue;
      const packet = { v: 1, type: "spread.claimed", from: "d", batchId: BATCH, first: claim.first, assignedCount: 1 };
      nodes.get(claim.to)?.onClaimed(nowMs, packet as Extract<Packet, { type: "spread.claimed" }>);
      continue;
    }
    const [message] = inFlight.splice(Math.floor(rng() * inFlight.length), 1);
    if (message === undefined || isCut(message.to)) continue;
    const node = nodes.get(message.to) as SpreadNode;
    if (message.packet.type === "wave.finn") node.onFinn(nowMs, message.packet);
    if (message.packet.type === "wave.finn.done") node.onDone(nowMs, message.packet);
  }
  nowMs += 6_000;
  for (const node of nodes.values()) node.onTick(nowMs);
  return { claims, ends, unansweredAtEnd };
}

describe("Finn spread nodes", () => {
  it("shares by slots sum to the batch and are each ⌊share⌋ or ⌈share⌉", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 60 }),
        fc.nat(10_000),
        (slots, count) => {
          const shares = spreadShares(slots, count);
          const total = slots.reduce((sum, s) => sum + s, 0);
          expect(shares.reduce((sum, s) => sum + s, 0)).toBe(count);
          shares.forEach((share, i) => {
            const exact = (count * (slots[i] as number)) / total;
            expect(share).toBeGreaterThanOrEqual(Math.floor(exact));
            expect(share).toBeLessThanOrEqual(Math.ceil(exact));
          });
        },
      ),
    );
    expect(spreadShares([2, 1, 1], 5)).toEqual([3, 1, 1]); // the remainder goes to the earlier node on a tie
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])("every node claims its own range exactly once (seed %i)", (seed) => {
    const topology = topologyOf(seed % 3 === 0 ? "tree" : "dag", 5 + seed * 3, seed);
    const count = 17 * seed + 3;
    const run = runWave(topology, count, seededRng(seed), () => false);
    topology.ids.forEach((id, i) => {
      const range = spreadRangeOf(topology, count, i);
      expect(run.claims.get(id) ?? [], id).toEqual(range.count === 0 ? [] : [range]);
    });
    expect(run.ends).toHaveLength(1);
    expect(run.ends[0]).toMatchObject({
      status: "done",
      actedCount: topology.size,
      waveMessages: topology.edgeCount + topology.size - 1,
    });
    expect(run.unansweredAtEnd).toBe(0);
  });

  it("a node that never hears the wave: its subtree does not act and the root ends the wave as timed_out", () => {
    const topology = topologyOf("tree", 15, 7);
    const cut = topology.ids.find((_, i) => i !== topology.root && (topology.treeChildren[i]?.length ?? 0) > 0);
    const run = runWave(topology, 100, seededRng(7), (id) => id === cut);
    expect(run.claims.has(cut as string)).toBe(false);
    expect(run.ends).toHaveLength(1);
    expect(run.ends[0]).toMatchObject({ status: "timed_out" });
    const end = run.ends[0] as Extract<Packet, { type: "spread.end" }>;
    expect(end.actedCount).toBeLessThan(topology.size);
  });

  it("never throws on arbitrary remote input (strangers, repeats, stale waves, huge batches, bogus claims)", () => {
    const topology = topologyOf("dag", 6, 3);
    const ids = [...topology.ids, "stranger"];
    const node = fc.constantFrom(...ids);
    const call = fc.oneof(
      fc.record({
        kind: fc.constant("finn"),
        from: node,
        waveId: fc.nat(5),
        items: fc.oneof(fc.nat(20_000), fc.constant(Number.MAX_SAFE_INTEGER)),
        to: node,
      }),
      fc.record({
        kind: fc.constant("done"),
        from: node,
        waveId: fc.nat(5),
        acted: fc.integer({ min: 1, max: 9 }),
        to: node,
      }),
      fc.record({ kind: fc.constant("claimed"), first: fc.nat(60), to: node }),
      fc.record({ kind: fc.constant("start"), count: fc.integer({ min: 1, max: 10_000 }), to: node }),
      fc.record({ kind: fc.constant("tick"), advanceMs: fc.nat(10_000), to: node }),
    );
    fc.assert(
      fc.property(fc.array(call, { maxLength: 80 }), (calls) => {
        const drops: string[] = [];
        const nodes = new Map(
          topology.ids.map((id) => [
            id,
            new SpreadNode(
              { nodeId: id, topology, boot: 1, waveTimeoutMs: 5_000, dispatcher: DISPATCHER },
              { log: silent, sendOverlay: () => undefined, sendTo: () => undefined, drop: (r) => drops.push(r) },
            ),
          ]),
        );
        let nowMs = 0;
        for (const c of calls) {
          const target = nodes.get(c.to);
          if (target === undefined) continue;
          const base = { v: 1 as const, seq: 0 };
          if (c.kind === "finn")
            target.onFinn(nowMs, {
              ...base,
              type: "wave.finn",
              from: c.from,
              waveId: c.waveId,
              itemsTotal: c.items,
              slotsTotal: 9,
              batchId: BATCH,
            });
          else if (c.kind === "done")
            target.onDone(nowMs, {
              ...base,
              type: "wave.finn.done",
              from: c.from,
              waveId: c.waveId,
              actedCount: c.acted,
              takenCount: 0,
            });
          else if (c.kind === "claimed")
            target.onClaimed(nowMs, {
              v: 1,
              type: "spread.claimed",
              from: "d",
              batchId: BATCH,
              first: c.first,
              assignedCount: 1,
            });
          else if (c.kind === "start")
            target.onStart(nowMs, DISPATCHER, {
              v: 1,
              type: "spread.start",
              from: "d",
              batchId: BATCH,
              count: c.count,
            });
          else {
            nowMs += c.advanceMs;
            target.onTick(nowMs);
          }
        }
      }),
    );
  });
});
