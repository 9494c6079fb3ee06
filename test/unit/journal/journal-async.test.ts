/**
 * Goal: with commits off the dispatcher's thread (a writer thread), the gate still lets no receipt or
 * answer out before its batch is durable; keeps one batch in flight while the next gathers; on a
 * failed batch refuses new tasks, holds everything and catches up on a retry; keeps its held
 * packets and deferred task records within pendingRecordsMax; and a stop stores what was accepted
 * (even tasks not yet acknowledged), releases it, and only then ends the thread.
 * Method: a real DispatcherCore behind the gate and a fake JournalAsyncWriter whose commits complete
 * only when the test says so, so every interleaving is chosen, not raced.
 */
import pino from "pino";
import { describe, expect, it } from "vitest";

import { DispatcherCore } from "../../../src/dispatcher/core.js";
import type { DispatcherOutput } from "../../../src/dispatcher/types.js";
import { createJournalShell } from "../../../src/journal/journal-shell.js";
import type {
  JournalAsyncWriter,
  JournalContents,
  JournalRecord,
  JournalStore,
  JournalWriteFailure,
} from "../../../src/journal/journal-store.js";
import { ManualClock } from "../../../src/runtime/clock.js";
import type { CoreHost } from "../../../src/shell/core-host.js";
import { CLIENT, submit, task, testConfig } from "../dispatcher/fixtures.js";
import { gateHarness } from "./gate-harness.js";

/** Commits wait in `calls` until complete() says how they ended. */
class FakeWriter implements JournalAsyncWriter {
  readonly calls: { records: JournalRecord[]; done: (failure: JournalWriteFailure | undefined) => void }[] = [];
  readonly stored: JournalRecord[][] = [];
  isClosed = false;
  commit(records: readonly JournalRecord[], done: (failure: JournalWriteFailure | undefined) => void): void {
    this.calls.push({ records: [...records], done });
  }
  maintain(_beforeWallMs: number, _finalsMax: number, done: (result: { expired: number }) => void): void {
    done({ expired: 0 });
  }
  async close(): Promise<void> {
    this.isClosed = true;
  }
  /** Ends the oldest commit: durable, or failed with `failure`. */
  complete(failure?: JournalWriteFailure): void {
    const call = this.calls.shift();
    if (call === undefined) throw new Error("no commit in flight");
    if (failure === undefined) this.stored.push(call.records);
    call.done(failure);
  }
}

/** A store the gate must not commit to while a writer is attached. */
const syncStore = (): JournalStore & { syncCommits: number; isClosed: boolean } => ({
  syncCommits: 0,
  isClosed: false,
  load: (): JournalContents => ({ unfinished: [], finals: [], skippedCount: 0, damage: [] }),
  commit(): undefined {
    this.syncCommits += 1;
    return undefined;
  },
  expire: () => 0,
  checkpoint: () => {},
  sizeBytes: () => 0,
  close() {
    this.isClosed = true;
  },
});

function setup(ackDelayMs = 0, pendingRecordsMax = 100) {
  const core = new DispatcherCore(testConfig({ ackDelayMs }));
  const writer = new FakeWriter();
  const store = syncStore();
  const { gate, released, events, endTurn, retry } = gateHarness({ core, store, writer, pendingRecordsMax });
  return { gate, writer, store, released, events, endTurn, retry };
}

const clientPackets = (outputs: readonly DispatcherOutput[]) =>
  outputs.flatMap((o) =>
    o.kind === "send" ? [`${o.packet.type}${"reason" in o.packet ? `:${o.packet.reason}` : ""}`] : [],
  );
const taskIds = (records: readonly JournalRecord[] | undefined) =>
  (records ?? []).map((r) => (r.kind === "task" ? r.task.taskId : r.final.taskId));

describe("JournalGate with a writer thread", () => {
  it("holds a receipt while its batch is in flight and releases it only when the batch is durable", () => {
    const { gate, writer, store, released, endTurn } = setup();
    gate.onPacket(0, CLIENT, submit(1));
    expect(clientPackets(gate.onTick(1))).toEqual([]);
    endTurn();
    expect(writer.calls.map((c) => taskIds(c.records))).toEqual([[task(1)]]);
    expect(clientPackets(released)).toEqual([]); // sent to the store, not durable yet
    // The client resends its submit meanwhile: the receipt it is owed is still not durable.
    expect(clientPackets(gate.onPacket(2, CLIENT, submit(1)))).toEqual([]);
    endTurn();
    expect(clientPackets(released)).toEqual([]);
    writer.complete();
    expect(clientPackets(released)).toEqual(["task.ack"]); // once, not once per submit
    expect(store.syncCommits).toBe(0); // nothing committed on the dispatcher's thread
  });

  it("gathers the next batch while one is in flight and sends it, as one, when the first is durable", () => {
    const { gate, writer, released, endTurn } = setup();
    gate.onPacket(0, CLIENT, submit(1));
    gate.onTick(1);
    endTurn();
    gate.onPacket(2, CLIENT, submit(2));
    gate.onTick(2);
    endTurn();
    gate.onPacket(3, CLIENT, submit(3));
    gate.onTick(3);
    endTurn();
    expect(writer.calls).toHaveLength(1); // one batch in flight at a time
    writer.complete();
    expect(clientPackets(released)).toEqual(["task.ack"]); // task 1's only: 2 and 3 are not durable
    expect(writer.calls.map((c) => taskIds(c.records))).toEqual([[task(2), task(3)]]);
    writer.complete();
    expect(clientPackets(released)).toEqual(["task.ack", "task.ack", "task.ack"]);
    expect(writer.stored.map(taskIds)).toEqual([[task(1)], [task(2), task(3)]]);
  });

  it("a failed batch: refuses new tasks, holds what waited behind it and what came after, and catches up on a retry", () => {
    const { gate, writer, released, events, endTurn, retry } = setup();
    gate.onPacket(0, CLIENT, submit(1));
    gate.onTick(1);
    endTurn();
    gate.onPacket(2, CLIENT, { v: 1, type: "task.cancel", from: "client-1", taskId: task(1) });
    endTurn();
    writer.complete({ code: "full", message: "database or disk is full" });
    expect(events).toEqual(["failed:full"]);
    expect(gate.failure?.code).toBe("full");
    expect(clientPackets(released)).toEqual([]);
    expect(clientPackets(gate.onPacket(3, CLIENT, submit(2)))).toEqual(["task.failed:overloaded"]);
    expect(writer.calls).toHaveLength(0); // nothing sent until the retry
    retry();
    expect(writer.calls.map((c) => c.records.map((r) => r.kind))).toEqual([["task", "final"]]);
    writer.complete();
    expect(events).toEqual(["failed:full", "recovered"]);
    expect(clientPackets(released)).toEqual(["task.ack", "task.failed:cancelled"]);
    expect(clientPackets(gate.onPacket(4, CLIENT, submit(3)))).toEqual([]); // accepted again
  });

  it("holds at most pendingRecordsMax packets: beyond it the oldest is dropped (counted), never sent early", () => {
    const { gate, writer, released, endTurn } = setup(0, 4);
    gate.onPacket(0, CLIENT, submit(1));
    gate.onTick(0);
    endTurn(); // task 1's record in flight, its receipt to CLIENT held behind it
    for (let port = 5001; port <= 5005; port += 1) {
      // The submitter moves (a NAT rebinding) and resends: each receipt goes to where it is now.
      expect(clientPackets(gate.onPacket(1, { host: CLIENT.host, port }, submit(1)))).toEqual([]);
    }
    expect(gate.droppedHeldCount).toBe(2);
    expect(released).toEqual([]);
    writer.complete();
    const ports = released.flatMap((o) => (o.kind === "send" ? [o.to.port] : []));
    expect(ports).toEqual([5002, 5003, 5004, 5005]); // the newest four, in order
  });

  it("defers at most pendingRecordsMax task records: beyond it the oldest is written at once", () => {
    const { gate, writer, endTurn } = setup(50, 4);
    for (let n = 1; n <= 4; n += 1) gate.onPacket(0, CLIENT, submit(n));
    endTurn();
    expect(writer.calls).toEqual([]); // no receipt due: nothing to store yet
    gate.onPacket(1, CLIENT, submit(5));
    endTurn();
    expect(writer.calls.map((c) => taskIds(c.records))).toEqual([[task(1)]]);
  });

  it("a stop stores even tasks not yet acknowledged, releases what waited, and resolves only then", async () => {
    const { gate, writer, released } = setup(50);
    gate.onPacket(0, CLIENT, submit(1)); // its receipt is not due yet: its record waits
    gate.stopAccepting();
    expect(clientPackets(gate.onPacket(1, CLIENT, submit(2)))).toEqual(["task.failed:overloaded"]);
    gate.commit();
    let isDrained = false;
    const drained = gate.drained().then(() => {
      isDrained = true;
    });
    await Promise.resolve();
    expect(isDrained).toBe(false);
    expect(writer.calls.map((c) => taskIds(c.records))).toEqual([[task(1)]]);
    writer.complete();
    await drained;
    expect(isDrained).toBe(true);
    expect(clientPackets(released)).toEqual([]);
  });

  it("the shell's stop waits for the batch in flight, then ends the writer thread and closes the store", async () => {
    const core = new DispatcherCore(testConfig({ ackDelayMs: 0 }));
    const writer = new FakeWriter();
    const store = syncStore();
    const clock = new ManualClock();
    const turnEnds: (() => void)[] = [];
    const shell = createJournalShell({
      core,
      store,
      nodeId: "disp-1",
      clock,
      wallMs: () => 1_000_000,
      log: pino({ level: "silent" }),
      resultsTtlMs: 60_000,
      resultsMax: 100,
      tasksMax: 100,
      scheduleCommit: (commit) => turnEnds.push(commit),
      openWriter: () => writer,
    });
    const applied: DispatcherOutput[] = [];
    shell.start({
      apply: (outputs: readonly DispatcherOutput[]) => applied.push(...outputs),
    } as unknown as CoreHost<DispatcherOutput>);
    shell.gate.onPacket(0, CLIENT, submit(1));
    shell.gate.onTick(0);
    const stopped = shell.stop();
    await Promise.resolve();
    expect(writer.calls).toHaveLength(1);
    expect(writer.isClosed).toBe(false);
    expect(store.isClosed).toBe(false);
    writer.complete();
    await stopped;
    expect(clientPackets(applied)).toEqual(["task.ack"]);
    expect(writer.isClosed).toBe(true);
    expect(store.isClosed).toBe(true);
    expect(store.syncCommits).toBe(0);
  });
});
