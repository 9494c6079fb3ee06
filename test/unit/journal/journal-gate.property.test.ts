/**
 * Goal: whatever happens between the dispatcher's thread and the writer thread, no receipt leaves
 * before its task's record is durable and no answer before the answer's record is durable; and once
 * the disk works again everything held is stored and released.
 * Method: fast-check drives a real DispatcherCore behind the gate with random submits, resubmits,
 * cancels, clock ticks (receipts come due after 5 ms), turn ends, and a fake writer thread whose
 * batches complete, or fail, when the sequence says so. Every client packet that leaves (returned at
 * once or released later) is checked against what the fake writer has made durable so far.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { DispatcherCore } from "../../../src/dispatcher/core.js";
import type { DispatcherOutput } from "../../../src/dispatcher/types.js";
import { JournalGate } from "../../../src/journal/journal-gate.js";
import type { JournalAsyncWriter, JournalRecord, JournalWriteFailure } from "../../../src/journal/journal-store.js";
import { CLIENT, submit, task, testConfig } from "../dispatcher/fixtures.js";

type Op =
  | { readonly kind: "submit" | "cancel"; readonly n: number }
  | { readonly kind: "tick"; readonly ms: number }
  | { readonly kind: "endTurn" | "complete" | "fail" | "retry" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constantFrom("submit" as const, "cancel" as const), n: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant("tick" as const), ms: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constantFrom("endTurn" as const, "complete" as const, "fail" as const, "retry" as const) }),
);

class FakeWriter implements JournalAsyncWriter {
  readonly calls: { records: JournalRecord[]; done: (failure: JournalWriteFailure | undefined) => void }[] = [];
  readonly tasks = new Set<string>();
  readonly finals = new Set<string>();
  commit(records: readonly JournalRecord[], done: (failure: JournalWriteFailure | undefined) => void): void {
    this.calls.push({ records: [...records], done });
  }
  maintain(): void {}
  async close(): Promise<void> {}
  complete(isFailed: boolean): void {
    const call = this.calls.shift();
    if (call === undefined) return;
    if (isFailed) {
      call.done({ code: "io", message: "injected" });
      return;
    }
    for (const r of call.records) {
      if (r.kind === "task") this.tasks.add(r.task.taskId);
      else this.finals.add(r.final.taskId);
    }
    call.done(undefined);
  }
}

function run(ops: readonly Op[]): void {
  const core = new DispatcherCore(testConfig({ ackDelayMs: 5 }));
  const writer = new FakeWriter();
  const turnEnds: (() => void)[] = [];
  const retries: (() => void)[] = [];
  const left: string[] = [];
  const check = (outputs: readonly DispatcherOutput[]): void => {
    for (const o of outputs) {
      if (o.kind !== "send") continue;
      const p = o.packet;
      if (p.type === "task.ack") {
        expect(
          writer.tasks.has(p.taskId) || writer.finals.has(p.taskId),
          `receipt of ${p.taskId} before its record`,
        ).toBe(true);
      } else if (
        (p.type === "task.result" || p.type === "task.failed") &&
        !(p.type === "task.failed" && p.reason === "overloaded")
      ) {
        expect(writer.finals.has(p.taskId), `answer of ${p.taskId} before its record`).toBe(true);
      }
      left.push(p.type);
    }
  };
  const gate = new JournalGate({
    core,
    store: {
      load: () => ({ unfinished: [], finals: [], skippedCount: 0, damage: [] }),
      commit: () => {
        throw new Error("commits go to the writer thread");
      },
      expire: () => 0,
      checkpoint: () => {},
      sizeBytes: () => 0,
      close: () => {},
    },
    writer,
    nodeId: "disp-1",
    wallMs: () => 1_000_000,
    monoMs: () => 0,
    scheduleCommit: (commit) => turnEnds.push(commit),
    retryLater: (retry) => retries.push(retry),
    pendingRecordsMax: 12,
    onWriteFailure: () => {},
    onWriteRecovered: () => {},
  });
  gate.release = check;
  let nowMs = 0;
  const drain = (list: (() => void)[]) => {
    for (const f of list.splice(0)) f();
  };
  for (const op of ops) {
    if (op.kind === "submit") check(gate.onPacket(nowMs, CLIENT, submit(op.n)));
    else if (op.kind === "cancel")
      check(gate.onPacket(nowMs, CLIENT, { v: 1, type: "task.cancel", from: "client-1", taskId: task(op.n) }));
    else if (op.kind === "tick") {
      nowMs += op.ms;
      check(gate.onTick(nowMs));
    } else if (op.kind === "endTurn") drain(turnEnds);
    else if (op.kind === "retry") drain(retries);
    else writer.complete(op.kind === "fail");
  }
  // The disk works again: everything held is stored and leaves.
  for (
    let round = 0;
    round < 50 && (gate.unstoredCount > 0 || writer.calls.length > 0 || turnEnds.length > 0 || retries.length > 0);
    round += 1
  ) {
    drain(turnEnds);
    drain(retries);
    while (writer.calls.length > 0) writer.complete(false);
  }
  expect(gate.unstoredCount).toBe(0);
  expect(gate.failure).toBeUndefined();
  // Every accepted task that was cancelled has its answer out once its record is durable.
  for (const id of writer.finals) expect(core.finalOf(nowMs, id)).toBeDefined();
}

describe("JournalGate with a writer thread, random interleavings", () => {
  it("never lets a receipt or an answer out before its record is durable, and catches up", () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 120 }), (ops) => run(ops)),
      { numRuns: 1_000 },
    );
  });
});
