/**
 * Seeded random topologies with readable node names ("amber-fox", "quiet-owl-2"). The same options
 * always give the same file, so a generated cluster can be reproduced from its seed. Pure.
 */

import { OVERLAY_NODES_MAX } from "../protocol/overlay-packets.js";
import { assert } from "../runtime/assert.js";
import { type Rng, randomIntInclusive, seededRng } from "../runtime/rng.js";
import type { TopologyFile, TopologyNode } from "./tree.js";
import { PARENTS_MAX } from "./tree.js";

/** Options of {@link generateTopology}. */
export interface GenerateTopologyOptions {
  /** A tree (one parent each) or a DAG (parents drawn among earlier nodes, so never a cycle). */
  readonly kind: "tree" | "dag";
  /** Nodes, 1..OVERLAY_NODES_MAX. */
  readonly nodes: number;
  readonly seed: number;
  /** Children per node at most over the primary (spanning-tree) links; default 4. */
  readonly fanoutMax?: number;
  /** Slots per node are drawn uniformly in 1..slotsMax; default 4. */
  readonly slotsMax?: number;
  /** DAG only: parents per node at most (the first is the primary); default 3. */
  readonly parentsMax?: number;
  /** DAG only: chance in [0, 1] of each extra parent being drawn; default 0.5. */
  readonly extraParentProbability?: number;
}

const ADJECTIVES = [
  "amber", "brave", "calm", "dusty", "eager", "fuzzy", "gentle", "happy", "icy", "jolly", "keen", "lucky",
  "merry", "noble", "odd", "proud", "quiet", "rapid", "shy", "tidy", "urban", "vivid", "witty", "young",
  "zesty", "bold", "crisp", "deep", "fair", "grand", "lively", "misty",
] as const; // biome-ignore format: a word list reads better packed

const NOUNS = [
  "fox", "owl", "bear", "lynx", "hawk", "wolf", "seal", "crow", "deer", "hare", "mole", "newt",
  "orca", "puma", "quail", "raven", "swan", "toad", "vole", "wren", "yak", "bison", "camel", "dingo",
  "eagle", "finch", "gecko", "heron", "ibis", "koala", "lemur", "moose",
] as const; // biome-ignore format: a word list reads better packed

/** A random topology in the file format of SPEC.md section 7; it always passes parseTopology. */
export function generateTopology(options: GenerateTopologyOptions): TopologyFile {
  const fanoutMax = options.fanoutMax ?? 4;
  const slotsMax = options.slotsMax ?? 4;
  const parentsMax = Math.min(options.parentsMax ?? 3, PARENTS_MAX);
  const extraParentProbability = options.extraParentProbability ?? 0.5;
  assert(Number.isInteger(options.nodes) && options.nodes >= 1 && options.nodes <= OVERLAY_NODES_MAX, "bad nodes");
  assert(Number.isInteger(fanoutMax) && fanoutMax >= 1, "fanoutMax must be a positive integer");
  assert(Number.isInteger(slotsMax) && slotsMax >= 1, "slotsMax must be a positive integer");
  assert(parentsMax >= 1 && extraParentProbability >= 0 && extraParentProbability <= 1, "bad DAG options");
  const rng = seededRng(options.seed);
  const ids = readableNames(rng, options.nodes);
  const nodes: TopologyNode[] = [];
  /** BOUNDED: options.nodes; indexes of nodes with fewer than fanoutMax primary children. */
  const open: number[] = [];
  const childCount: number[] = [];
  for (let i = 0; i < options.nodes; i += 1) {
    const parents: string[] = [];
    if (i > 0) {
      const slot = Math.floor(rng() * open.length);
      const primary = open[slot] as number;
      parents.push(ids[primary] as string);
      childCount[primary] = (childCount[primary] as number) + 1;
      if (childCount[primary] === fanoutMax) {
        open[slot] = open[open.length - 1] as number;
        open.pop();
      }
      if (options.kind === "dag") addExtraParents(rng, ids, i, parents, parentsMax, extraParentProbability);
    }
    nodes.push({ id: ids[i] as string, slots: randomIntInclusive(rng, 1, slotsMax), parents });
    open.push(i);
    childCount.push(0);
  }
  return { nodes };
}

/** Extra parents are earlier nodes, so every link points forward and the graph stays acyclic. */
function addExtraParents(rng: Rng, ids: readonly string[], i: number, parents: string[], max: number, p: number): void {
  for (let k = 1; k < max && i > parents.length; k += 1) {
    if (rng() >= p) break;
    const candidate = ids[Math.floor(rng() * i)] as string;
    if (!parents.includes(candidate)) parents.push(candidate);
  }
}

/** `count` distinct names, adjective-noun with a numeric suffix once the pairs run out or collide. */
function readableNames(rng: Rng, count: number): string[] {
  /** BOUNDED: count entries each. */
  const used = new Set<string>();
  const nextSuffix = new Map<string, number>();
  const names: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const base = `${ADJECTIVES[Math.floor(rng() * ADJECTIVES.length)]}-${NOUNS[Math.floor(rng() * NOUNS.length)]}`;
    let name = base;
    let suffix = nextSuffix.get(base) ?? 2;
    while (used.has(name)) name = `${base}-${suffix++}`;
    nextSuffix.set(base, suffix);
    used.add(name);
    names.push(name);
  }
  return names;
}

/** The file as JSON text with one node per line (readable and diff-friendly), ending in a newline. */
export function formatTopology(file: TopologyFile): string {
  const lines = file.nodes.map((node) => `    ${JSON.stringify(node)}`);
  return `{\n  "nodes": [\n${lines.join(",\n")}\n  ]\n}\n`;
}
