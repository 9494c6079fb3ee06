/**
 * Echo wave (Chang 1982; Tel, Introduction to Distributed Algorithms, 6.2.3) on a rooted tree, for
 * one node. The root starts a wave; each node forwards it to its children and, once every child has
 * echoed, echoes its whole subtree (load, slots, topology) to its parent. One wave costs exactly
 * 2(N−1) messages. State is kept per wave id, so repeated and concurrent waves never mix.
 * Pure: no I/O, no time, no randomness; remote input never trips an assertion.
 */
import { assert } from "../runtime/assert.js";

/** What a node reports about itself: parallel task slots and queued (movable) tasks. */
export interface NodeLoad {
  readonly slots: number;
  readonly queued: number;
}

/**
 * One node of a report: [id, parentGap, slots, queued]. Entry k's parent is entry k − parentGap; a gap
 * of 0 (the first entry only) means "the node this report is sent to" (none, in the root's decision).
 * Relative gaps survive concatenation, so merging subtree reports copies no entry but the first.
 */
export type ReportEntry = readonly [id: string, parentGap: number, slots: number, queued: number];

/** Everything a subtree reports upwards: aggregates, and its nodes in preorder. */
export interface SubtreeReport {
  readonly nodeCount: number;
  readonly slotsSum: number;
  readonly queuedSum: number;
  /** BOUNDED: one per node of the subtree, at most OVERLAY_NODES_MAX. */
  readonly entries: readonly ReportEntry[];
}

/** Why a wave message was ignored (counted by the shell; never an assertion). */
export type EchoIgnoredReason = "stale_wave" | "duplicate" | "not_my_parent" | "not_my_child" | "unknown_wave";

/** Everything the node wants done. */
export type EchoOutput =
  | { readonly kind: "send_explore"; readonly to: string; readonly waveId: number }
  | { readonly kind: "send_echo"; readonly to: string; readonly waveId: number; readonly report: SubtreeReport }
  | { readonly kind: "wave_decided"; readonly waveId: number; readonly report: SubtreeReport }
  | {
      readonly kind: "wave_ignored";
      readonly waveId: number;
      readonly from: string;
      readonly reason: EchoIgnoredReason;
    };

/** Where a node sits in the tree. */
export interface EchoNodeConfig {
  readonly id: string;
  /** Undefined for the root. */
  readonly parent: string | undefined;
  /** BOUNDED: the topology's fan-out. */
  readonly children: readonly string[];
  /** Waves remembered at once; the oldest is forgotten beyond this and its late messages are ignored. */
  readonly wavesMax: number;
}

interface WaveState {
  readonly load: NodeLoad;
  /** BOUNDED: children.length. Children that have not echoed yet. */
  readonly waiting: Set<string>;
  /** BOUNDED: children.length. */
  readonly reports: SubtreeReport[];
  isDone: boolean;
}

/** One node of the echo wave. */
export class EchoNode {
  readonly #config: EchoNodeConfig;
  /** BOUNDED: config.wavesMax; insertion (= wave) order, oldest evicted first. */
  readonly #waves = new Map<number, WaveState>();
  /** Waves below this id were forgotten: their messages are stale. */
  #staleBelowId = 0;

  constructor(config: EchoNodeConfig) {
    assert(Number.isInteger(config.wavesMax) && config.wavesMax > 0, "wavesMax must be a positive integer");
    assert(!config.children.includes(config.id), `${config.id}: a node cannot be its own child`);
    this.#config = config;
  }

  get id(): string {
    return this.#config.id;
  }

  get isRoot(): boolean {
    return this.#config.parent === undefined;
  }

  /**
   * Root only: starts wave `waveId` (a new, increasing id) with the root's own load. Children in
   * `excluded` (believed dead) are left out of this wave: their subtrees are missing from its report.
   */
  start(waveId: number, load: NodeLoad, excluded?: ReadonlySet<string>): EchoOutput[] {
    assert(this.isRoot, `${this.id}: only the root starts a wave`);
    assert(!this.#waves.has(waveId) && waveId >= this.#staleBelowId, `${this.id}: wave ${waveId} reused`);
    return this.#begin(waveId, load, excluded);
  }

  /** The wave arrived from `from`, which must be our parent; `load` is our load now; see start() for `excluded`. */
  onExplore(from: string, waveId: number, load: NodeLoad, excluded?: ReadonlySet<string>): EchoOutput[] {
    if (from !== this.#config.parent) return [ignored(waveId, from, "not_my_parent")];
    if (waveId < this.#staleBelowId) return [ignored(waveId, from, "stale_wave")];
    if (this.#waves.has(waveId)) return [ignored(waveId, from, "duplicate")];
    return this.#begin(waveId, load, excluded);
  }

  /** Child `from` echoed its subtree for wave `waveId`. */
  onEcho(from: string, waveId: number, report: SubtreeReport): EchoOutput[] {
    if (waveId < this.#staleBelowId) return [ignored(waveId, from, "stale_wave")];
    const wave = this.#waves.get(waveId);
    if (wave === undefined) return [ignored(waveId, from, "unknown_wave")];
    if (!this.#config.children.includes(from)) return [ignored(waveId, from, "not_my_child")];
    if (!wave.waiting.delete(from)) return [ignored(waveId, from, "duplicate")];
    wave.reports.push(report);
    return wave.waiting.size === 0 ? this.#finish(waveId, wave) : [];
  }

  #begin(waveId: number, load: NodeLoad, excluded?: ReadonlySet<string>): EchoOutput[] {
    if (this.#waves.size >= this.#config.wavesMax) {
      const oldest = this.#waves.keys().next();
      if (!oldest.done) {
        this.#waves.delete(oldest.value);
        this.#staleBelowId = Math.max(this.#staleBelowId, oldest.value + 1);
      }
    }
    const children = this.#config.children.filter((child) => excluded?.has(child) !== true);
    const wave: WaveState = { load, waiting: new Set(children), reports: [], isDone: false };
    this.#waves.set(waveId, wave);
    const outputs: EchoOutput[] = children.map((to) => ({ kind: "send_explore", to, waveId }));
    if (wave.waiting.size === 0) outputs.push(...this.#finish(waveId, wave));
    return outputs;
  }

  #finish(waveId: number, wave: WaveState): EchoOutput[] {
    assert(!wave.isDone && wave.waiting.size === 0, `${this.id}: wave ${waveId} finished twice`);
    wave.isDone = true;
    const parent = this.#config.parent;
    const report = mergeReports(this.id, wave.load, wave.reports);
    wave.reports.length = 0; // the report now owns the entries; keep memory per wave small
    if (parent === undefined) return [{ kind: "wave_decided", waveId, report }];
    return [{ kind: "send_echo", to: parent, waveId, report }];
  }
}

/** This node's entry followed by its children's subtrees (preorder), with the aggregates summed. */
export function mergeReports(id: string, load: NodeLoad, reports: readonly SubtreeReport[]): SubtreeReport {
  const entries: ReportEntry[] = [[id, 0, load.slots, load.queued]];
  let nodeCount = 1;
  let slotsSum = load.slots;
  let queuedSum = load.queued;
  for (const report of reports) {
    const first = report.entries[0];
    if (first === undefined) continue;
    entries.push([first[0], entries.length, first[2], first[3]]); // the child's parent is entry 0: us
    for (let k = 1; k < report.entries.length; k += 1) entries.push(report.entries[k] as ReportEntry);
    nodeCount += report.nodeCount;
    slotsSum += report.slotsSum;
    queuedSum += report.queuedSum;
  }
  return { nodeCount, slotsSum, queuedSum, entries };
}

/** Index of entry k's parent in `entries`, or undefined for the first entry. */
export function parentIndexOf(entries: readonly ReportEntry[], k: number): number | undefined {
  const gap = entries[k]?.[1];
  assert(gap !== undefined && gap <= k, `bad parent gap at entry ${k}`);
  return gap === 0 ? undefined : k - gap;
}

function ignored(waveId: number, from: string, reason: EchoIgnoredReason): EchoOutput {
  return { kind: "wave_ignored", waveId, from, reason };
}
