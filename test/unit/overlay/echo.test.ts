/**
 * Goal: the echo wave costs exactly 2(N−1) messages on a tree of N nodes, the root decides exactly once
 * with the whole tree's load and topology, and neither delivery order, duplicates nor concurrent waves
 * change the decision.
 * Method: known shapes with known answers, then random trees of 2..2000 nodes over many seeds, each
 * delivered in a seeded random order by the harness (a failing seed replays exactly).
 */
import { describe, expect, it } from "vitest";

import { EchoNode, parentIndexOf, type SubtreeReport } from "../../../src/overlay/echo.js";
import { generateTopology } from "../../../src/overlay/generate.js";
import { parseTopology, type Topology, type TopologyFile } from "../../../src/overlay/tree.js";
import { seededRng } from "../../../src/runtime/rng.js";
import { runEcho } from "./wave-harness.js";

function topologyOf(file: TopologyFile): Topology {
  const parsed = parseTopology(file);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.topology;
}

/** Node i's parent is parentOf(i) (undefined for node 0). */
function shape(count: number, parentOf: (i: number) => number | undefined): Topology {
  return topologyOf({
    nodes: Array.from({ length: count }, (_, i) => {
      const parent = parentOf(i);
      return { id: `n${i}`, slots: 1 + (i % 3), parents: parent === undefined ? [] : [`n${parent}`] };
    }),
  });
}

const loadOf = (id: string) => ({ slots: 1 + (Number(id.slice(1)) % 3), queued: Number(id.slice(1)) * 2 });

function expectWholeTree(topology: Topology, report: SubtreeReport | undefined): void {
  expect(report?.nodeCount).toBe(topology.size);
  expect(report?.slotsSum).toBe(topology.slots.reduce((a, b) => a + b, 0));
  const entries = report?.entries ?? [];
  expect(new Set(entries.map((entry) => entry[0])).size).toBe(topology.size);
  // The topology travels too: each entry's parent in the report is its primary parent in the file.
  for (let k = 0; k < entries.length; k += 1) {
    const parentIndex = parentIndexOf(entries, k);
    const parentId = parentIndex === undefined ? undefined : entries[parentIndex]?.[0];
    const index = topology.mustIndexOf(entries[k]?.[0] as string);
    const expected = topology.parents[index]?.[0];
    expect(parentId).toBe(expected === undefined ? undefined : topology.ids[expected]);
  }
}

describe("echo wave: known answers", () => {
  it.each([
    ["path of 5", shape(5, (i) => (i === 0 ? undefined : i - 1)), 8],
    ["star of 6", shape(6, (i) => (i === 0 ? undefined : 0)), 10],
    ["complete binary tree of 15", shape(15, (i) => (i === 0 ? undefined : Math.floor((i - 1) / 2))), 28],
    ["single node", shape(1, () => undefined), 0],
  ])("%s costs %i messages", (_name, topology, expected) => {
    const run = runEcho(topology, seededRng(1), [1], loadOf);
    expect(run.messageCountByWave.get(1) ?? 0).toBe(expected);
    expectWholeTree(topology, run.decisions.get(1));
    expect(run.decisions.get(1)?.queuedSum).toBe(topology.ids.reduce((sum, id) => sum + loadOf(id).queued, 0));
  });
});

describe("echo wave: random trees", () => {
  it("costs exactly 2(N−1) messages for 2..2000 nodes over many seeds", () => {
    const sizes = [2, 3, 7, 50, 333, 2000];
    for (const [k, nodes] of sizes.entries()) {
      for (let seed = 1; seed <= (nodes > 500 ? 2 : 12); seed += 1) {
        const topology = topologyOf(
          generateTopology({ kind: "tree", nodes, seed: seed * 31 + k, fanoutMax: 1 + (seed % 5) }),
        );
        const run = runEcho(topology, seededRng(seed), [1], loadOf);
        expect(run.messageCountByWave.get(1)).toBe(2 * (nodes - 1));
        expect(run.decisions.size).toBe(1);
        expect(run.decisions.get(1)?.nodeCount).toBe(nodes);
      }
    }
  });

  it("reaches the same decision under every delivery order", () => {
    const topology = topologyOf(generateTopology({ kind: "tree", nodes: 120, seed: 9, fanoutMax: 3 }));
    const decide = (seed: number) => {
      const report = runEcho(topology, seededRng(seed), [1], loadOf).decisions.get(1);
      // Entry order follows arrival order of the echoes; the content does not depend on it.
      return { ...report, entries: [...(report?.entries ?? [])].map((entry) => entry[0]).sort() };
    };
    const first = decide(1);
    for (let seed = 2; seed <= 60; seed += 1) expect(decide(seed)).toEqual(first);
  });

  it("keeps concurrent waves apart and ignores duplicated messages", () => {
    const topology = topologyOf(generateTopology({ kind: "tree", nodes: 80, seed: 4 }));
    const waveLoad = (id: string, waveId: number) => ({ slots: 1, queued: waveId * 100 + id.length });
    const run = runEcho(topology, seededRng(77), [5, 6, 7], waveLoad, 0.2);
    for (const waveId of [5, 6, 7]) {
      expect(run.messageCountByWave.get(waveId)).toBe(2 * (topology.size - 1));
      const report = run.decisions.get(waveId);
      expect(report?.queuedSum).toBe(topology.ids.reduce((sum, id) => sum + waveId * 100 + id.length, 0));
    }
    expect(run.ignoredCount).toBeGreaterThan(0); // the duplicates, counted and dropped
  });
});

describe("EchoNode: remote input never trips an assertion", () => {
  it("ignores explores from non-parents, echoes from non-children, unknown and stale waves", () => {
    const node = new EchoNode({ id: "b", parent: "a", children: ["c"], wavesMax: 2 });
    expect(node.onExplore("x", 1, { slots: 1, queued: 0 })).toEqual([
      { kind: "wave_ignored", waveId: 1, from: "x", reason: "not_my_parent" },
    ]);
    const report = { nodeCount: 1, slotsSum: 1, queuedSum: 0, entries: [["c", 0, 1, 0] as const] };
    expect(node.onEcho("c", 9, report)[0]).toMatchObject({ reason: "unknown_wave" });
    expect(node.onExplore("a", 1, { slots: 1, queued: 0 })).toEqual([{ kind: "send_explore", to: "c", waveId: 1 }]);
    expect(node.onEcho("z", 1, report)[0]).toMatchObject({ reason: "not_my_child" });
    expect(node.onExplore("a", 1, { slots: 1, queued: 0 })[0]).toMatchObject({ reason: "duplicate" });
    const done = node.onEcho("c", 1, report);
    expect(done).toMatchObject([{ kind: "send_echo", to: "a", waveId: 1, report: { nodeCount: 2 } }]);
    expect(node.onEcho("c", 1, report)[0]).toMatchObject({ reason: "duplicate" });
    node.onExplore("a", 2, { slots: 1, queued: 0 });
    node.onExplore("a", 3, { slots: 1, queued: 0 }); // wavesMax 2: wave 1 is forgotten
    expect(node.onExplore("a", 1, { slots: 1, queued: 0 })[0]).toMatchObject({ reason: "stale_wave" });
  });

  it("refuses our own misuse with an assertion", () => {
    const leaf = new EchoNode({ id: "b", parent: "a", children: [], wavesMax: 2 });
    expect(() => leaf.start(1, { slots: 1, queued: 0 })).toThrow(/only the root/);
    const root = new EchoNode({ id: "a", parent: undefined, children: [], wavesMax: 2 });
    expect(root.start(1, { slots: 2, queued: 3 })).toEqual([
      {
        kind: "wave_decided",
        waveId: 1,
        report: { nodeCount: 1, slotsSum: 2, queuedSum: 3, entries: [["a", 0, 2, 3]] },
      },
    ]);
    expect(() => root.start(1, { slots: 2, queued: 3 })).toThrow(/reused/);
  });
});

describe("excluding children believed dead", () => {
  it("a wave skips an excluded child's subtree and still decides, with fewer nodes in its report", () => {
    // a -> b -> d, a -> c; c is excluded at the root.
    const a = new EchoNode({ id: "a", parent: undefined, children: ["b", "c"], wavesMax: 4 });
    const b = new EchoNode({ id: "b", parent: "a", children: ["d"], wavesMax: 4 });
    const d = new EchoNode({ id: "d", parent: "b", children: [], wavesMax: 4 });
    const load = { slots: 1, queued: 0 };
    const started = a.start(1, load, new Set(["c"]));
    expect(started).toEqual([{ kind: "send_explore", to: "b", waveId: 1 }]);
    const fromB = b.onExplore("a", 1, load);
    expect(fromB).toEqual([{ kind: "send_explore", to: "d", waveId: 1 }]);
    const fromD = d.onExplore("b", 1, load);
    const echoD = fromD.find((o) => o.kind === "send_echo");
    if (echoD?.kind !== "send_echo") throw new Error("d must echo at once");
    const echoB = b.onEcho("d", 1, echoD.report).find((o) => o.kind === "send_echo");
    if (echoB?.kind !== "send_echo") throw new Error("b must echo after d");
    const decided = a.onEcho("b", 1, echoB.report).find((o) => o.kind === "wave_decided");
    if (decided?.kind !== "wave_decided") throw new Error("a must decide without c");
    expect(decided.report.entries.map(([id]) => id).sort()).toEqual(["a", "b", "d"]);
    expect(a.onEcho("c", 1, echoD.report)).toEqual([expect.objectContaining({ kind: "wave_ignored" })]);
  });
});
