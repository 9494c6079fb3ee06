/**
 * Goal: on any DAG every node acts exactly once, only after hearing from all its parents, the root
 * learns completion with the exact number of nodes and items taken, and a wave costs E + N − 1 messages.
 * Method: random DAGs and trees from the seeded generator, delivered by the harness in seeded random
 * order with and without duplicates; hand-checked shares on config/overlay/dag-6.json's shape.
 */
import { describe, expect, it } from "vitest";

import { FinnNode } from "../../../src/overlay/finn.js";
import { generateTopology } from "../../../src/overlay/generate.js";
import { parseTopology, type Topology } from "../../../src/overlay/tree.js";
import { seededRng } from "../../../src/runtime/rng.js";
import { runFinn } from "./wave-harness.js";

function dag(nodes: number, seed: number, kind: "tree" | "dag" = "dag"): Topology {
  const parsed = parseTopology(generateTopology({ kind, nodes, seed, fanoutMax: 3, parentsMax: 4 }));
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.topology;
}

describe("Finn wave", () => {
  it("every node acts exactly once, after all its parents, on random DAGs and delivery orders", () => {
    for (let seed = 1; seed <= 40; seed += 1) {
      const topology = dag(2 + ((seed * 37) % 300), seed);
      const slotsTotal = topology.slots.reduce((a, b) => a + b, 0);
      const run = runFinn(topology, seededRng(seed), { itemsTotal: 1000, slotsTotal }, seed % 2 === 0 ? 0.15 : 0);
      for (const [i, id] of topology.ids.entries()) {
        expect(run.actedCount.get(id)).toBe(1);
        expect(run.heardWhenActed.get(id)).toBe(topology.parents[i]?.length);
      }
      expect(run.messageCount).toBe(topology.edgeCount + topology.size - 1);
      const taken = [...run.takenById.values()].reduce((a, b) => a + b, 0);
      expect(run.completed).toEqual({
        kind: "wave_completed",
        waveId: 1,
        actedCount: topology.size,
        takenCount: taken,
        remainderCount: 1000 - taken,
      });
      expect(1000 - taken).toBeLessThan(topology.size);
    }
  });

  it("on a tree costs 2(N−1) messages like echo", () => {
    const topology = dag(500, 3, "tree");
    const run = runFinn(topology, seededRng(5), { itemsTotal: 10, slotsTotal: 9999 });
    expect(run.messageCount).toBe(2 * (topology.size - 1));
    expect(run.completed?.actedCount).toBe(500);
  });

  it("takes ⌊itemsTotal × slots / slotsTotal⌋ per node on the dag-6 shape", () => {
    const parsed = parseTopology({
      nodes: [
        { id: "a", slots: 2, parents: [] },
        { id: "b", slots: 1, parents: ["a"] },
        { id: "c", slots: 2, parents: ["a"] },
        { id: "d", slots: 1, parents: ["b", "c"] },
        { id: "e", slots: 2, parents: ["c"] },
        { id: "f", slots: 1, parents: ["d", "e", "a"] },
      ],
    });
    if (!parsed.ok) throw new Error(parsed.error.message);
    const run = runFinn(parsed.topology, seededRng(1), { itemsTotal: 20, slotsTotal: 9 });
    expect(Object.fromEntries(run.takenById)).toEqual({ a: 4, b: 2, c: 4, d: 2, e: 4, f: 2 });
    expect(run.completed).toMatchObject({ actedCount: 6, takenCount: 18, remainderCount: 2 });
    expect(run.messageCount).toBe(8 + 5);
  });

  it("ignores messages from non-parents and non-children without asserting", () => {
    const node = new FinnNode({
      id: "d",
      slots: 1,
      parents: ["b", "c"],
      children: [],
      primaryChildren: [],
      wavesMax: 2,
    });
    const batch = { itemsTotal: 9, slotsTotal: 3 };
    expect(node.onFinn("x", 1, batch)[0]).toMatchObject({ reason: "not_my_parent" });
    expect(node.onFinn("b", 1, batch)).toEqual([]);
    expect(node.onFinn("b", 1, batch)[0]).toMatchObject({ reason: "duplicate" });
    expect(node.onDone("z", 1, 1, 0)[0]).toMatchObject({ reason: "not_my_child" });
    expect(node.onFinn("c", 1, batch)).toEqual([
      { kind: "act", waveId: 1, takeCount: 3 },
      { kind: "send_done", to: "b", waveId: 1, actedCount: 1, takenCount: 3 },
    ]);
    expect(node.hasActed(1)).toBe(true);
    expect(node.onFinn("c", 1, batch)[0]).toMatchObject({ reason: "duplicate" });
  });
});
