/**
 * Finn-style dissemination over a DAG, for one node. The root starts a wave carrying a batch of work;
 * a node ACTS (takes ⌊itemsTotal × slots / slotsTotal⌋ items) exactly once, when it has heard the wave
 * from ALL its parents, then forwards it to all its children. Completion flows back up the primary
 * (spanning-tree) links: a node reports `wave.finn.done` to its primary parent once it has acted and
 * all its primary children reported, so the root learns when every node has acted and how many items
 * were taken (the remainder, fewer than N items, is the root's to keep). Messages per wave: E + N − 1.
 * Pure: no I/O, no time, no randomness; remote input never trips an assertion.
 */
import { assert } from "../runtime/assert.js";

/** The batch a Finn wave disseminates. */
export interface FinnBatch {
  readonly itemsTotal: number;
  readonly slotsTotal: number;
}

/** Why a Finn message was ignored. */
export type FinnIgnoredReason = "stale_wave" | "duplicate" | "not_my_parent" | "not_my_child" | "unknown_wave";

/** Everything the node wants done. */
export type FinnOutput =
  | { readonly kind: "send_finn"; readonly to: string; readonly waveId: number; readonly batch: FinnBatch }
  | { readonly kind: "act"; readonly waveId: number; readonly takeCount: number }
  | {
      readonly kind: "send_done";
      readonly to: string;
      readonly waveId: number;
      readonly actedCount: number;
      readonly takenCount: number;
    }
  | {
      readonly kind: "wave_completed";
      readonly waveId: number;
      readonly actedCount: number;
      readonly takenCount: number;
      readonly remainderCount: number;
    }
  | {
      readonly kind: "wave_ignored";
      readonly waveId: number;
      readonly from: string;
      readonly reason: FinnIgnoredReason;
    };

/** Where a node sits in the DAG. */
export interface FinnNodeConfig {
  readonly id: string;
  readonly slots: number;
  /** BOUNDED: PARENTS_MAX. parents[0] is the primary parent; empty for the root. */
  readonly parents: readonly string[];
  /** BOUNDED: the topology's fan-out. */
  readonly children: readonly string[];
  /** Children whose primary parent is this node (they report completion to us). */
  readonly primaryChildren: readonly string[];
  readonly wavesMax: number;
}

interface WaveState {
  batch: FinnBatch | undefined;
  /** BOUNDED: parents.length. */
  readonly heardFrom: Set<string>;
  /** BOUNDED: primaryChildren.length. */
  readonly waitingDone: Set<string>;
  hasActed: boolean;
  isDone: boolean;
  actedCount: number;
  takenCount: number;
}

/** One node of the Finn wave. */
export class FinnNode {
  readonly #config: FinnNodeConfig;
  /** BOUNDED: config.wavesMax; insertion (= wave) order, oldest evicted first. */
  readonly #waves = new Map<number, WaveState>();
  #staleBelowId = 0;

  constructor(config: FinnNodeConfig) {
    assert(Number.isInteger(config.wavesMax) && config.wavesMax > 0, "wavesMax must be a positive integer");
    assert(config.slots >= 1, "slots must be positive");
    for (const child of config.primaryChildren) assert(config.children.includes(child), "primary child not a child");
    this.#config = config;
  }

  get id(): string {
    return this.#config.id;
  }

  /** Root only: starts wave `waveId` with `batch`. */
  start(waveId: number, batch: FinnBatch): FinnOutput[] {
    assert(this.#config.parents.length === 0, `${this.id}: only the root starts a wave`);
    assert(batch.slotsTotal >= 1 && batch.itemsTotal >= 0, "bad batch");
    assert(!this.#waves.has(waveId) && waveId >= this.#staleBelowId, `${this.id}: wave ${waveId} reused`);
    const wave = this.#wave(waveId);
    wave.batch = batch;
    return this.#act(waveId, wave);
  }

  /** Parent `from` forwarded wave `waveId`. */
  onFinn(from: string, waveId: number, batch: FinnBatch): FinnOutput[] {
    if (!this.#config.parents.includes(from)) return [ignored(waveId, from, "not_my_parent")];
    if (waveId < this.#staleBelowId) return [ignored(waveId, from, "stale_wave")];
    const wave = this.#waves.get(waveId) ?? this.#wave(waveId);
    if (wave.heardFrom.has(from)) return [ignored(waveId, from, "duplicate")];
    wave.heardFrom.add(from);
    wave.batch ??= batch;
    if (wave.heardFrom.size < this.#config.parents.length) return [];
    return this.#act(waveId, wave);
  }

  /** Primary child `from` reports that its whole primary subtree has acted. */
  onDone(from: string, waveId: number, actedCount: number, takenCount: number): FinnOutput[] {
    if (waveId < this.#staleBelowId) return [ignored(waveId, from, "stale_wave")];
    const wave = this.#waves.get(waveId);
    if (wave === undefined) return [ignored(waveId, from, "unknown_wave")];
    if (!this.#config.primaryChildren.includes(from)) return [ignored(waveId, from, "not_my_child")];
    if (!wave.waitingDone.delete(from)) return [ignored(waveId, from, "duplicate")];
    wave.actedCount += actedCount;
    wave.takenCount += takenCount;
    return this.#maybeDone(waveId, wave);
  }

  /** True once this node has acted in wave `waveId`. */
  hasActed(waveId: number): boolean {
    return this.#waves.get(waveId)?.hasActed === true;
  }

  #wave(waveId: number): WaveState {
    if (this.#waves.size >= this.#config.wavesMax) {
      const oldest = this.#waves.keys().next();
      if (!oldest.done) {
        this.#waves.delete(oldest.value);
        this.#staleBelowId = Math.max(this.#staleBelowId, oldest.value + 1);
      }
    }
    const wave: WaveState = {
      batch: undefined,
      heardFrom: new Set(),
      waitingDone: new Set(this.#config.primaryChildren),
      hasActed: false,
      isDone: false,
      actedCount: 0,
      takenCount: 0,
    };
    this.#waves.set(waveId, wave);
    return wave;
  }

  #act(waveId: number, wave: WaveState): FinnOutput[] {
    assert(!wave.hasActed && wave.batch !== undefined, `${this.id}: acts twice in wave ${waveId}`);
    wave.hasActed = true;
    const batch = wave.batch;
    const takeCount = Math.floor((batch.itemsTotal * this.#config.slots) / batch.slotsTotal);
    wave.actedCount += 1;
    wave.takenCount += takeCount;
    const outputs: FinnOutput[] = [{ kind: "act", waveId, takeCount }];
    for (const to of this.#config.children) outputs.push({ kind: "send_finn", to, waveId, batch });
    outputs.push(...this.#maybeDone(waveId, wave));
    return outputs;
  }

  #maybeDone(waveId: number, wave: WaveState): FinnOutput[] {
    if (!wave.hasActed || wave.waitingDone.size > 0 || wave.isDone) return [];
    wave.isDone = true;
    const primaryParent = this.#config.parents[0];
    if (primaryParent !== undefined) {
      return [
        { kind: "send_done", to: primaryParent, waveId, actedCount: wave.actedCount, takenCount: wave.takenCount },
      ];
    }
    const batch = wave.batch as FinnBatch;
    const remainderCount = Math.max(0, batch.itemsTotal - wave.takenCount);
    return [
      { kind: "wave_completed", waveId, actedCount: wave.actedCount, takenCount: wave.takenCount, remainderCount },
    ];
  }
}

function ignored(waveId: number, from: string, reason: FinnIgnoredReason): FinnOutput {
  return { kind: "wave_ignored", waveId, from, reason };
}
