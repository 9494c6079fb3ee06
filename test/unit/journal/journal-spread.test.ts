/**
 * Goal: a `cluster spread` batch is as durable as submitted tasks (SPEC 5.4). The answer to the spread
 * request lists the batch's task ids, so it is their receipt: it leaves only once every task of the
 * batch is journaled. A spread task's answer goes to nobody, yet it is journaled, so after kill -9 and a
 * restart `cluster result ID` still has it; unfinished tasks are placed again; a repeat of the request
 * is answered with the batch's progress (remembered as `timed_out`: its wave is gone), not refused.
 * Method: real DispatcherCores behind JournalGates over one in-memory store whose committed records are
 * read back as a restart would; turns ended by hand.
 */
import { describe, expect, it } from "vitest";

import { DispatcherCore } from "../../../src/dispatcher/core.js";
import type { DispatcherOutput } from "../../../src/dispatcher/types.js";
import type {
  JournalContents,
  JournaledFinal,
  JournaledTask,
  JournalRecord,
  JournalStore,
} from "../../../src/journal/journal-store.js";
import type { Packet } from "../../../src/protocol/packet.js";
import { type AdminSpread, SPREAD_REQUEST_BYTES, spreadTaskId } from "../../../src/protocol/spread-packets.js";
import type { Endpoint } from "../../../src/transport/transport.js";
import { testConfig } from "../dispatcher/fixtures.js";
import { gateHarness } from "./gate-harness.js";

const BATCH = "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f";
const CLI: Endpoint = { host: "10.0.0.50", port: 6000 };
const NODE: Record<"a" | "b", Endpoint> = { a: { host: "10.0.0.1", port: 7001 }, b: { host: "10.0.0.2", port: 7002 } };

/** Commits kept in order; load() replays them as the journal would after a restart. */
class MemoryStore implements JournalStore {
  readonly committed: JournalRecord[] = [];
  load(): JournalContents {
    const tasks = new Map<string, JournaledTask>();
    const finals = new Map<string, JournaledFinal>();
    for (const record of this.committed) {
      if (record.kind === "task") tasks.set(record.task.taskId, record.task);
      else finals.set(record.final.taskId, record.final);
    }
    const unfinished = [...tasks.values()].filter((t) => !finals.has(t.taskId));
    return { unfinished, finals: [...finals.values()], skippedCount: 0, damage: [] };
  }
  commit(records: readonly JournalRecord[]) {
    this.committed.push(...records);
    return undefined;
  }
  expire(): number {
    return 0;
  }
  checkpoint(): void {}
  sizeBytes(): number {
    return 0;
  }
  close(): void {}
}

function dispatcherOn(store: MemoryStore) {
  const core = new DispatcherCore(testConfig({ heartbeatTimeoutMs: 60_000, evictAfterMs: 120_000 }));
  const { gate, released, endTurn } = gateHarness({ core, store, pendingRecordsMax: 1_000 });
  return { core, gate, released, endTurn };
}

function request(count: number): AdminSpread {
  const bare: AdminSpread = { v: 1, type: "admin.spread", from: "cluster-cli", requestId: BATCH, count, rounds: 1 };
  return { ...bare, pad: " ".repeat(SPREAD_REQUEST_BYTES - JSON.stringify(bare).length) };
}

function heartbeat(name: "a" | "b"): Packet {
  return {
    v: 1,
    type: "calc.heartbeat",
    from: name,
    boot: 1,
    seq: 1,
    capacity: 50,
    running: 0,
    overlayRole: name === "a" ? "root" : "node",
  };
}

function spreadResults(outputs: readonly DispatcherOutput[]): Packet[] {
  return outputs.flatMap((o) => (o.kind === "send" && o.packet.type === "admin.spread.result" ? [o.packet] : []));
}

describe("journal and spread batches", () => {
  it("holds the spread answer until the batch's tasks are stored, journals answers sent to nobody, and survives a restart", () => {
    const store = new MemoryStore();
    const first = dispatcherOn(store);
    first.gate.onPacket(0, NODE.a, heartbeat("a"));
    first.gate.onPacket(0, NODE.b, heartbeat("b"));

    // The answer lists the task ids: held until all four tasks are durable.
    const accepted = first.gate.onPacket(10, CLI, request(4));
    expect(spreadResults(accepted)).toEqual([]);
    expect(store.committed).toEqual([]);
    first.endTurn();
    expect(store.committed.map((r) => (r.kind === "task" ? [r.task.taskId, r.task.isSilent] : r.kind))).toEqual(
      [0, 1, 2, 3].map((i) => [spreadTaskId(BATCH, i), true]),
    );
    expect(spreadResults(first.released)).toMatchObject([{ status: "spreading", count: 4 }]);

    // b claims tasks 2 and 3 and answers task 2: nobody is sent that answer, and it is journaled.
    first.gate.onPacket(20, NODE.b, {
      v: 1,
      type: "spread.claim",
      from: "b",
      boot: 1,
      batchId: BATCH,
      first: 2,
      count: 2,
    });
    const taskId = spreadTaskId(BATCH, 2);
    const done: Packet = { v: 1, type: "task.done", from: "b", taskId, attempt: 1, result: "a".repeat(64) };
    const answered = first.gate.onPacket(30, NODE.b, done);
    expect(answered.filter((o) => o.kind === "send" && o.to.host === CLI.host)).toEqual([]);
    first.endTurn();
    expect(store.committed.filter((r) => r.kind === "final").map((r) => r.kind === "final" && r.final.taskId)).toEqual([
      taskId,
    ]);

    // kill -9 and restart: the answer is served by id, the other three tasks are back, and a repeat of
    // the request gets the batch's progress instead of a refusal.
    const second = dispatcherOn(store);
    second.gate.recover(0, store.load());
    expect(second.core.finalOf(0, taskId)).toMatchObject({ type: "task.result", result: "a".repeat(64) });
    for (const i of [0, 1, 3]) expect(second.core.taskState(0, spreadTaskId(BATCH, i))).toBe("queued");
    const repeat = second.gate.onPacket(5, CLI, request(4));
    second.endTurn();
    expect(spreadResults([...repeat, ...second.released])).toMatchObject([
      { status: "timed_out", count: 4, succeededCount: 1, failedCount: 0, claimedCount: 0, replacedCount: 3 },
    ]);
  });

  it("a restored spread task is placed like any task and its answer goes to nobody", () => {
    const store = new MemoryStore();
    const first = dispatcherOn(store);
    first.gate.onPacket(0, NODE.a, heartbeat("a"));
    first.gate.onPacket(0, CLI, request(1));
    first.endTurn();
    const second = dispatcherOn(store);
    second.gate.recover(0, store.load());
    const placed = second.gate.onPacket(1, NODE.b, heartbeat("b"));
    const assign = placed.find((o) => o.kind === "send" && o.packet.type === "task.assign");
    expect(assign).toMatchObject({ to: NODE.b });
    const taskId = spreadTaskId(BATCH, 0);
    const done: Packet = { v: 1, type: "task.done", from: "b", taskId, attempt: 1, result: "b".repeat(64) };
    const outputs = second.gate.onPacket(2, NODE.b, done);
    second.endTurn();
    expect([...outputs, ...second.released].filter((o) => o.kind === "send" && o.to.host === CLI.host)).toEqual([]);
    expect(second.core.finalOf(2, taskId)).toMatchObject({ type: "task.result" });
  });

  it("a repeat of a request whose tasks are not all known is not adopted", () => {
    const store = new MemoryStore();
    const first = dispatcherOn(store);
    first.gate.onPacket(0, NODE.a, heartbeat("a"));
    first.gate.onPacket(0, CLI, request(2));
    first.endTurn();
    const second = dispatcherOn(store);
    second.gate.recover(0, store.load());
    second.gate.onPacket(0, NODE.a, heartbeat("a"));
    // The same request id with a larger count names tasks this dispatcher never had: refused as clashing.
    const outputs = second.gate.onPacket(5, CLI, request(3));
    second.endTurn();
    expect(spreadResults([...outputs, ...second.released])).toMatchObject([{ status: "overloaded" }]);
  });
});
