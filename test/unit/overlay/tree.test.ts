/**
 * Goal: topology files are validated with one clear message per problem (schema, duplicate ids,
 * unknown or self parents, no root, several roots, unreachable nodes, cycles, DAG where a tree is
 * required), and the seeded generator always produces valid, reproducible, readable topologies.
 * Method: a table of bad files with the expected code and a fragment of the message; generated
 * topologies of many sizes, kinds and seeds fed back through the validator.
 */
import { describe, expect, it } from "vitest";

import { generateTopology } from "../../../src/overlay/generate.js";
import { parseTopology } from "../../../src/overlay/tree.js";

const node = (id: string, parents: string[] = [], slots = 1) => ({ id, slots, parents });

describe("parseTopology: errors", () => {
  it.each([
    ["not an object", [], "schema", "(top level): Invalid input: expected object"],
    ["unknown key", { nodes: [node("a")], extra: 1 }, "schema", "extra"],
    ["zero slots", { nodes: [node("a", [], 0)] }, "schema", 'key "nodes.0.slots": Too small'],
    ["bad id", { nodes: [node("a b")] }, "schema", "id"],
    ["no nodes", { nodes: [] }, "schema", "nodes"],
    ["duplicate id", { nodes: [node("a"), node("a")] }, "duplicate_id", '"a" is listed twice'],
    ["unknown parent", { nodes: [node("a"), node("b", ["zz"])] }, "unknown_parent", '"b" has unknown parent "zz"'],
    ["self parent", { nodes: [node("a"), node("b", ["b"])] }, "self_parent", '"b" lists itself'],
    ["duplicate parent", { nodes: [node("a"), node("b", ["a", "a"])] }, "duplicate_parent", 'lists "a" twice'],
    ["no root", { nodes: [node("a", ["b"]), node("b", ["a"])] }, "no_root", "every node has a parent"],
    ["two roots", { nodes: [node("a"), node("b"), node("c", ["a"])] }, "several_roots", '"a", "b"'],
    [
      "unreachable cycle",
      { nodes: [node("a"), node("b", ["c"]), node("c", ["b"]), node("d", ["a"])] },
      "unreachable",
      '"b", "c"',
    ],
    ["reachable cycle", { nodes: [node("a"), node("b", ["a", "c"]), node("c", ["b"])] }, "cycle", "b -> c -> b"],
  ])("%s", (_name, json, code, fragment) => {
    const result = parseTopology(json);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe(code);
    expect(result.error.message).toContain(fragment);
  });

  it("rejects a node with two parents only when a tree is required", () => {
    const json = { nodes: [node("a"), node("b", ["a"]), node("c", ["a", "b"])] };
    expect(parseTopology(json).ok).toBe(true);
    const result = parseTopology(json, { requireTree: true });
    expect(result).toMatchObject({ ok: false, error: { code: "not_a_tree" } });
    if (!result.ok) expect(result.error.message).toContain('"c" has 2 parents');
  });
});

describe("parseTopology: accepted", () => {
  it("indexes children, tree children and edges, and round-trips to the file format", () => {
    const file = { nodes: [node("a", [], 2), node("b", ["a"]), node("c", ["a"]), node("d", ["c", "b"])] };
    const result = parseTopology(file);
    if (!result.ok) throw new Error(result.error.message);
    const { topology } = result;
    expect(topology.ids[topology.root]).toBe("a");
    expect(topology.children.map((c) => c.map((i) => topology.ids[i]))).toEqual([["b", "c"], ["d"], ["d"], []]);
    expect(topology.treeChildren.map((c) => c.map((i) => topology.ids[i]))).toEqual([["b", "c"], [], ["d"], []]);
    expect(topology.edgeCount).toBe(4);
    expect(topology.isTree).toBe(false);
    expect(topology.toFile()).toEqual(file);
  });

  it("handles a 10 000-deep path without recursion limits", () => {
    const nodes = Array.from({ length: 10_000 }, (_, i) => node(`n${i}`, i === 0 ? [] : [`n${i - 1}`]));
    expect(parseTopology({ nodes }).ok).toBe(true);
  });
});

describe("generateTopology", () => {
  it("always produces valid topologies of the requested kind, size and fan-out", () => {
    for (const kind of ["tree", "dag"] as const) {
      for (const nodes of [1, 2, 5, 64, 700]) {
        for (let seed = 0; seed < 6; seed += 1) {
          const fanoutMax = 1 + (seed % 4);
          const result = parseTopology(generateTopology({ kind, nodes, seed, fanoutMax }), {
            requireTree: kind === "tree",
          });
          if (!result.ok) throw new Error(`${kind} ${nodes} ${seed}: ${result.error.message}`);
          expect(result.topology.size).toBe(nodes);
          expect(Math.max(...result.topology.treeChildren.map((c) => c.length))).toBeLessThanOrEqual(fanoutMax);
        }
      }
    }
  });

  it("is reproducible from its seed, differs across seeds, and uses readable names", () => {
    const a = generateTopology({ kind: "dag", nodes: 300, seed: 42 });
    expect(generateTopology({ kind: "dag", nodes: 300, seed: 42 })).toEqual(a);
    expect(generateTopology({ kind: "dag", nodes: 300, seed: 43 })).not.toEqual(a);
    for (const { id } of a.nodes) expect(id).toMatch(/^[a-z]+-[a-z]+(-\d+)?$/);
    expect(a.nodes.some((n) => n.parents.length > 1)).toBe(true);
  });

  it("builds a path with fanoutMax 1 and a 10 000-node tree quickly", () => {
    const path = generateTopology({ kind: "tree", nodes: 20, seed: 1, fanoutMax: 1 });
    expect(path.nodes.map((n) => n.parents)).toEqual(
      path.nodes.map((_, i) => (i === 0 ? [] : [path.nodes[i - 1]?.id])),
    );
    expect(generateTopology({ kind: "tree", nodes: 10_000, seed: 1 }).nodes).toHaveLength(10_000);
  });
});
