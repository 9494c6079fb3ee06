/**
 * A JournalGate for unit tests: the core and store (and writer thread, if any) given, a fixed wall
 * clock, and turn ends and retries queued for the test to run by hand. What the gate releases and
 * the write failures and recoveries it reports are collected.
 */
import type { DispatcherCore } from "../../../src/dispatcher/core.js";
import type { DispatcherOutput } from "../../../src/dispatcher/types.js";
import { JournalGate } from "../../../src/journal/journal-gate.js";
import type { JournalAsyncWriter, JournalStore } from "../../../src/journal/journal-store.js";

/** A gate and the hands that drive it. */
export interface GateHarness {
  readonly gate: JournalGate;
  readonly released: DispatcherOutput[];
  readonly events: string[];
  /** Runs the turn ends the gate scheduled (its commits). */
  endTurn(): void;
  /** Runs the retries the gate scheduled after failed commits. */
  retry(): void;
}

/** Builds the gate; see the file comment. */
export function gateHarness(options: {
  readonly core: DispatcherCore;
  readonly store: JournalStore;
  readonly writer?: JournalAsyncWriter;
  readonly pendingRecordsMax?: number;
}): GateHarness {
  const turnEnds: (() => void)[] = [];
  const retries: (() => void)[] = [];
  const released: DispatcherOutput[] = [];
  const events: string[] = [];
  const gate = new JournalGate({
    core: options.core,
    store: options.store,
    ...(options.writer === undefined ? {} : { writer: options.writer }),
    nodeId: "disp-1",
    wallMs: () => 1_000_000,
    monoMs: () => 0,
    scheduleCommit: (commit) => turnEnds.push(commit),
    retryLater: (retry) => retries.push(retry),
    pendingRecordsMax: options.pendingRecordsMax ?? 100,
    onWriteFailure: (f) => events.push(`failed:${f.code}`),
    onWriteRecovered: () => events.push("recovered"),
  });
  gate.release = (outputs) => released.push(...outputs);
  const run = (list: (() => void)[]): void => {
    for (const f of list.splice(0)) f();
  };
  return { gate, released, events, endTurn: () => run(turnEnds), retry: () => run(retries) };
}
