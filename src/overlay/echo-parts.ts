/**
 * A subtree report can outgrow one datagram (ECHO_ENTRIES_PER_PART_MAX node entries fit in
 * DATAGRAM_BYTES_MAX), so an echo travels as `parts` datagrams: aggregates in every part, node entries
 * split across them as parallel arrays. The wave layer still counts ONE echo message; the parts are a
 * transport detail like retransmissions. Pure: the assembler keeps partial reports in bounded memory
 * and checks a peer's report adds up before releasing it.
 */
import { ECHO_ENTRIES_PER_PART_MAX, ECHO_PARTS_MAX } from "../protocol/overlay-packets.js";
import { assert } from "../runtime/assert.js";
import type { ReportEntry, SubtreeReport } from "./echo.js";

/** The fields of one `wave.echo` datagram beyond the envelope, seq and wave id. */
export interface EchoPart {
  readonly part: number;
  readonly parts: number;
  readonly nodeCount: number;
  readonly slotsSum: number;
  readonly queuedSum: number;
  /** BOUNDED: ECHO_ENTRIES_PER_PART_MAX each; the four arrays have the same length. */
  readonly ids: string[];
  readonly parentGaps: number[];
  readonly slots: number[];
  readonly queued: number[];
}

/**
 * Splits `report` into the fewest parts of at most ECHO_ENTRIES_PER_PART_MAX entries each, or returns
 * undefined when it needs more than ECHO_PARTS_MAX parts: children's reports (peer data) can add up to
 * more entries than one report may carry, and that must be a counted drop, never an assertion.
 */
export function splitReport(report: SubtreeReport): EchoPart[] | undefined {
  // Our own merge keeps this (children's reports were checked on assembly): a bug if it fails.
  assert(report.entries.length === report.nodeCount, "report entries and nodeCount disagree");
  const parts = Math.max(1, Math.ceil(report.entries.length / ECHO_ENTRIES_PER_PART_MAX));
  if (parts > ECHO_PARTS_MAX) return undefined;
  const out: EchoPart[] = [];
  for (let part = 0; part < parts; part += 1) {
    const chunk = report.entries.slice(part * ECHO_ENTRIES_PER_PART_MAX, (part + 1) * ECHO_ENTRIES_PER_PART_MAX);
    out.push({
      part,
      parts,
      nodeCount: report.nodeCount,
      slotsSum: report.slotsSum,
      queuedSum: report.queuedSum,
      ids: chunk.map((entry) => entry[0]),
      parentGaps: chunk.map((entry) => entry[1]),
      slots: chunk.map((entry) => entry[2]),
      queued: chunk.map((entry) => entry[3]),
    });
  }
  return out;
}

/** Outcome of feeding one part to {@link EchoAssembler.add}. */
export type AssembleResult =
  | { readonly kind: "incomplete" }
  | { readonly kind: "complete"; readonly report: SubtreeReport }
  | { readonly kind: "rejected"; readonly reason: "inconsistent" | "duplicate_part" | "full" };

interface Partial {
  readonly first: EchoPart;
  /** BOUNDED: first.parts (≤ ECHO_PARTS_MAX). */
  readonly parts: (EchoPart | undefined)[];
  receivedCount: number;
}

/** Reassembles echo parts per (sender, wave). */
export class EchoAssembler {
  /** BOUNDED: assembliesMax; beyond it new reports are rejected as "full" (their parts get retransmitted). */
  readonly #partials = new Map<string, Partial>();
  readonly #assembliesMax: number;

  constructor(assembliesMax: number) {
    assert(Number.isInteger(assembliesMax) && assembliesMax > 0, "assembliesMax must be a positive integer");
    this.#assembliesMax = assembliesMax;
  }

  get pendingCount(): number {
    return this.#partials.size;
  }

  /** Adds one part of the report `from` sent for `waveId`. */
  add(from: string, waveId: number, part: EchoPart): AssembleResult {
    const length = part.ids.length;
    if (part.part >= part.parts || [part.parentGaps, part.slots, part.queued].some((a) => a.length !== length)) {
      return { kind: "rejected", reason: "inconsistent" };
    }
    if (part.parts === 1) return checked(part, [part]);
    const key = `${from}|${waveId}`;
    let partial = this.#partials.get(key);
    if (partial === undefined) {
      if (this.#partials.size >= this.#assembliesMax) return { kind: "rejected", reason: "full" };
      partial = { first: part, parts: new Array<EchoPart | undefined>(part.parts).fill(undefined), receivedCount: 0 };
      this.#partials.set(key, partial);
    }
    if (!sameAggregates(partial.first, part)) return { kind: "rejected", reason: "inconsistent" };
    if (partial.parts[part.part] !== undefined) return { kind: "rejected", reason: "duplicate_part" };
    partial.parts[part.part] = part;
    partial.receivedCount += 1;
    if (partial.receivedCount < part.parts) return { kind: "incomplete" };
    this.#partials.delete(key);
    return checked(part, partial.parts as EchoPart[]);
  }

  /** Forgets partial reports of waves older than `waveId` (their wave is over). */
  forgetBefore(waveId: number): void {
    for (const key of [...this.#partials.keys()]) {
      if (Number(key.slice(key.lastIndexOf("|") + 1)) < waveId) this.#partials.delete(key);
    }
  }
}

function sameAggregates(a: EchoPart, b: EchoPart): boolean {
  return a.parts === b.parts && a.nodeCount === b.nodeCount && a.slotsSum === b.slotsSum && a.queuedSum === b.queuedSum;
}

/** A peer's report must add up: entry count and sums match, and every parent gap points inside it. */
function checked(head: EchoPart, chunks: readonly EchoPart[]): AssembleResult {
  const entries: ReportEntry[] = [];
  let slotsSum = 0;
  let queuedSum = 0;
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.ids.length; i += 1) {
      const k = entries.length;
      const gap = chunk.parentGaps[i] as number;
      if (k === 0 ? gap !== 0 : gap < 1 || gap > k) return { kind: "rejected", reason: "inconsistent" };
      const entry: ReportEntry = [chunk.ids[i] as string, gap, chunk.slots[i] as number, chunk.queued[i] as number];
      entries.push(entry);
      slotsSum += entry[2];
      queuedSum += entry[3];
    }
  }
  if (entries.length !== head.nodeCount || slotsSum !== head.slotsSum || queuedSum !== head.queuedSum) {
    return { kind: "rejected", reason: "inconsistent" };
  }
  return {
    kind: "complete",
    report: { nodeCount: head.nodeCount, slotsSum: head.slotsSum, queuedSum: head.queuedSum, entries },
  };
}
