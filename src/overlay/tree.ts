/**
 * Overlay topologies (SPEC.md section 7): the file format, its zod schema, and the structural checks
 * zod cannot express (duplicate ids, unknown parents, roots, reachability, cycles, tree shape). A
 * validated {@link Topology} is immutable and indexes nodes by integer for fast simulation. Pure.
 */
import * as z from "zod";

import { CAPACITY_MAX } from "../protocol/limits.js";
import { OVERLAY_NODES_MAX } from "../protocol/overlay-packets.js";
import { NodeId } from "../protocol/packets.js";
import { assert } from "../runtime/assert.js";

/** Parents per node at most (a DAG node listing more is rejected). */
export const PARENTS_MAX = 64;

/** One node of a topology file. */
export const TopologyNode = z.strictObject({
  id: NodeId,
  slots: z.int().min(1).max(CAPACITY_MAX),
  parents: z.array(NodeId).max(PARENTS_MAX),
});

/** A topology file: `{"nodes": [{"id": "a", "slots": 2, "parents": []}, ...]}`. */
export const TopologyFile = z.strictObject({
  nodes: z.array(TopologyNode).min(1).max(OVERLAY_NODES_MAX),
});

/** A loads file: node id -> queued tasks, e.g. `{"a": 7, "b": 0}`. */
export const LoadsFile = z.record(NodeId, z.int().min(0).max(1_000_000));

export type TopologyNode = z.infer<typeof TopologyNode>;
export type TopologyFile = z.infer<typeof TopologyFile>;
export type LoadsFile = z.infer<typeof LoadsFile>;

/** Why a topology is rejected; `message` is one readable sentence naming the nodes. */
export type TopologyError =
  | { readonly code: "schema"; readonly message: string }
  | { readonly code: "duplicate_id" | "unknown_parent" | "self_parent" | "duplicate_parent"; readonly message: string }
  | { readonly code: "no_root" | "several_roots" | "unreachable" | "cycle" | "not_a_tree"; readonly message: string };

/** Result of {@link parseTopology}. */
export type TopologyResult = { ok: true; topology: Topology } | { ok: false; error: TopologyError };

/** A validated, immutable topology. Node 0..N-1 are indexes; `root` is the index of the root. */
export class Topology {
  /** BOUNDED: OVERLAY_NODES_MAX entries (checked by the schema); same for every array below. */
  readonly ids: readonly string[];
  readonly slots: readonly number[];
  /** Parents of each node, as indexes; parents[i][0] is the primary parent (the spanning tree). */
  readonly parents: readonly (readonly number[])[];
  /** Children of each node over the DAG, in file order. */
  readonly children: readonly (readonly number[])[];
  /** Children whose primary parent is this node: the spanning tree the echo wave runs on. */
  readonly treeChildren: readonly (readonly number[])[];
  readonly root: number;
  /** BOUNDED: one entry per node. */
  readonly #indexById: ReadonlyMap<string, number>;

  constructor(file: TopologyFile, indexById: ReadonlyMap<string, number>, root: number) {
    this.ids = file.nodes.map((node) => node.id);
    this.slots = file.nodes.map((node) => node.slots);
    this.parents = file.nodes.map((node) => node.parents.map((parent) => indexById.get(parent) as number));
    const children: number[][] = file.nodes.map(() => []);
    const treeChildren: number[][] = file.nodes.map(() => []);
    this.parents.forEach((parents, child) => {
      for (const parent of parents) children[parent]?.push(child);
      if (parents[0] !== undefined) treeChildren[parents[0]]?.push(child);
    });
    this.children = children;
    this.treeChildren = treeChildren;
    this.root = root;
    this.#indexById = indexById;
  }

  get size(): number {
    return this.ids.length;
  }

  /** Edges of the DAG (parent -> child links). A tree has size - 1. */
  get edgeCount(): number {
    return this.parents.reduce((sum, parents) => sum + parents.length, 0);
  }

  /** True when every node has at most one parent. */
  get isTree(): boolean {
    return this.parents.every((parents) => parents.length <= 1);
  }

  /** Index of `id`, or undefined when unknown. */
  indexOf(id: string): number | undefined {
    return this.#indexById.get(id);
  }

  /** Index of `id`; the caller knows it exists. */
  mustIndexOf(id: string): number {
    const index = this.#indexById.get(id);
    assert(index !== undefined, `unknown node ${id}`);
    return index;
  }

  /** Back to the file format (for writing generated topologies). */
  toFile(): TopologyFile {
    return {
      nodes: this.ids.map((id, i) => ({
        id,
        slots: this.slots[i] as number,
        parents: (this.parents[i] ?? []).map((parent) => this.ids[parent] as string),
      })),
    };
  }
}

/** Options of {@link parseTopology}. */
export interface ParseTopologyOptions {
  /** Reject nodes with more than one parent. */
  readonly requireTree?: boolean;
}

/** Validates untrusted JSON as a topology. Never throws; errors name the offending nodes. */
export function parseTopology(json: unknown, options: ParseTopologyOptions = {}): TopologyResult {
  const parsed = TopologyFile.safeParse(json);
  if (!parsed.success) return fail("schema", describeIssues(parsed.error));
  const file = parsed.data;
  const indexById = new Map<string, number>();
  for (const [i, node] of file.nodes.entries()) {
    if (indexById.has(node.id)) return fail("duplicate_id", `node "${node.id}" is listed twice`);
    indexById.set(node.id, i);
  }
  const linkError = checkParents(file, indexById, options.requireTree === true);
  if (linkError !== undefined) return { ok: false, error: linkError };
  const roots = file.nodes.filter((node) => node.parents.length === 0).map((node) => node.id);
  if (roots.length === 0) return fail("no_root", "no root: every node has a parent, so the parents form a cycle");
  if (roots.length > 1) {
    return fail("several_roots", `more than one root (nodes without parents): ${quoteList(roots)}`);
  }
  const topology = new Topology(file, indexById, indexById.get(roots[0] as string) as number);
  return checkShape(topology);
}

function checkParents(
  file: TopologyFile,
  indexById: Map<string, number>,
  requireTree: boolean,
): TopologyError | undefined {
  for (const node of file.nodes) {
    if (requireTree && node.parents.length > 1) {
      return { code: "not_a_tree", message: `node "${node.id}" has ${node.parents.length} parents; a tree allows one` };
    }
    const seen = new Set<string>();
    for (const parent of node.parents) {
      if (parent === node.id) return { code: "self_parent", message: `node "${node.id}" lists itself as a parent` };
      if (!indexById.has(parent)) {
        return { code: "unknown_parent", message: `node "${node.id}" has unknown parent "${parent}"` };
      }
      if (seen.has(parent)) return { code: "duplicate_parent", message: `node "${node.id}" lists "${parent}" twice` };
      seen.add(parent);
    }
  }
  return undefined;
}

/** Every node reachable from the root, and no cycle among them (Kahn's algorithm over the DAG). */
function checkShape(topology: Topology): TopologyResult {
  const reached = new Uint8Array(topology.size);
  const stack = [topology.root];
  reached[topology.root] = 1;
  while (stack.length > 0) {
    const node = stack.pop() as number;
    for (const child of topology.children[node] ?? []) {
      if (reached[child] === 0) {
        reached[child] = 1;
        stack.push(child);
      }
    }
  }
  const unreachable = topology.ids.filter((_, i) => reached[i] === 0);
  if (unreachable.length > 0) {
    return fail(
      "unreachable",
      `not reachable from the root "${topology.ids[topology.root]}": ${quoteList(unreachable)}`,
    );
  }
  const cycle = findCycle(topology);
  if (cycle !== undefined) return fail("cycle", `the parents form a cycle: ${cycle.join(" -> ")}`);
  return { ok: true, topology };
}

/** One cycle as a list of ids (first repeated at the end), or undefined. Iterative DFS: deep trees are fine. */
function findCycle(topology: Topology): string[] | undefined {
  const state = new Uint8Array(topology.size); // 0 new, 1 on the stack, 2 done
  const path: number[] = [];
  const nextChild: number[] = new Array<number>(topology.size).fill(0);
  path.push(topology.root);
  state[topology.root] = 1;
  while (path.length > 0) {
    const node = path[path.length - 1] as number;
    const children = topology.children[node] ?? [];
    const i = nextChild[node] as number;
    if (i >= children.length) {
      state[node] = 2;
      path.pop();
      continue;
    }
    nextChild[node] = i + 1;
    const child = children[i] as number;
    if (state[child] === 1) {
      const from = path.indexOf(child);
      return [...path.slice(from), child].map((index) => topology.ids[index] as string);
    }
    if (state[child] === 0) {
      state[child] = 1;
      path.push(child);
    }
  }
  return undefined;
}

/** Zod issues as one line: `key "nodes.3.slots": Too small: expected number to be >=1; ...`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const key = issue.path.length === 0 ? "(top level)" : `key "${issue.path.join(".")}"`;
      const extra = issue.code === "unrecognized_keys" ? ` ${issue.keys.map((k) => `"${k}"`).join(", ")}` : "";
      return `${key}: ${issue.message}${extra}`;
    })
    .join("; ");
}

function fail(code: TopologyError["code"], message: string): TopologyResult {
  return { ok: false, error: { code, message } as TopologyError };
}

function quoteList(ids: readonly string[]): string {
  const shown = ids.slice(0, 10).map((id) => `"${id}"`);
  return ids.length > 10 ? `${shown.join(", ")} and ${ids.length - 10} more` : shown.join(", ");
}
