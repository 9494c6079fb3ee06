/**
 * Goal: the journal gate never lets a receipt or final answer out before the records made before it
 * are durable, commits once per turn, refuses new tasks with `overloaded` while the store cannot
 * write (and holds what it could not store until a retry succeeds), and puts journaled tasks and
 * answers back into a fresh core. Method: a real DispatcherCore (no calculators) behind the gate, an
 * in-memory JournalStore whose writes can be made to fail, and hand-run turns and retries.
 */
import { describe, expect, it } from "vitest";

import { DispatcherCore } from "../../../src/dispatcher/core.js";
import type { DispatcherOutput } from "../../../src/dispatcher/types.js";
import type { JournalContents, JournalRecord, JournalStore } from "../../../src/journal/journal-store.js";
import { CLIENT, submit, task, testConfig } from "../dispatcher/fixtures.js";
import { gateHarness } from "./gate-harness.js";

class MemoryStore implements JournalStore {
  readonly committed: JournalRecord[][] = [];
  isFull = false;
  load(): JournalContents {
    return { unfinished: [], finals: [], skippedCount: 0, damage: [] };
  }
  commit(records: readonly JournalRecord[]) {
    if (this.isFull) return { code: "full" as const, message: "database or disk is full" };
    this.committed.push([...records]);
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

function setup(ackDelayMs = 0) {
  const core = new DispatcherCore(testConfig({ ackDelayMs }));
  const store = new MemoryStore();
  return { core, store, ...gateHarness({ core, store }) };
}

const clientPackets = (outputs: readonly DispatcherOutput[]) =>
  outputs.flatMap((o) =>
    o.kind === "send" ? [`${o.packet.type}${"reason" in o.packet ? `:${o.packet.reason}` : ""}`] : [],
  );

describe("JournalGate", () => {
  it("holds the receipt until the turn's commit has stored the task, in one commit for the turn", () => {
    const { gate, store, released, endTurn } = setup();
    expect(clientPackets(gate.onPacket(0, CLIENT, submit(1)))).toEqual([]);
    expect(clientPackets(gate.onPacket(0, CLIENT, submit(2)))).toEqual([]);
    expect(clientPackets(gate.onTick(1))).toEqual([]); // the receipts are due, and held
    expect(store.committed).toEqual([]);
    endTurn();
    expect(store.committed).toHaveLength(1);
    expect(store.committed[0]?.map((r) => r.kind)).toEqual(["task", "task"]);
    expect(clientPackets(released)).toEqual(["task.ack", "task.ack"]);
  });

  it("stores a final answer before it leaves", () => {
    const { gate, store, released, endTurn } = setup();
    gate.onPacket(0, CLIENT, submit(1));
    endTurn();
    const cancelled = gate.onPacket(1, CLIENT, { v: 1, type: "task.cancel", from: "client-1", taskId: task(1) });
    expect(clientPackets(cancelled)).toEqual([]);
    expect(clientPackets(released)).toEqual([]);
    endTurn();
    expect(store.committed.at(-1)?.map((r) => r.kind)).toEqual(["final"]);
    expect(clientPackets(released)).toContain("task.failed:cancelled");
  });

  it("writes a task's record only when its receipt is due; a task answered first costs one record, its answer", () => {
    const { gate, store, released, endTurn } = setup(50);
    gate.onPacket(0, CLIENT, submit(1));
    gate.onPacket(0, CLIENT, submit(2));
    endTurn();
    expect(store.committed).toEqual([]); // no receipt promised yet: nothing to store
    gate.onPacket(10, CLIENT, { v: 1, type: "task.cancel", from: "client-1", taskId: task(1) });
    endTurn();
    expect(store.committed.flat().map((r) => r.kind)).toEqual(["final"]);
    expect(clientPackets(gate.onTick(50))).toEqual([]); // task 2's receipt is due: held behind its record
    expect(store.committed).toHaveLength(1);
    endTurn();
    expect(store.committed[1]?.map((r) => (r.kind === "task" ? r.task.taskId : r.kind))).toEqual([task(2)]);
    expect(clientPackets(released)).toEqual(["task.failed:cancelled", "task.ack"]);
  });

  it("refuses new tasks with overloaded while the store cannot write, acknowledges nothing unstored, and catches up", () => {
    const { gate, store, released, events, endTurn, retry } = setup();
    store.isFull = true;
    gate.onPacket(0, CLIENT, submit(1));
    gate.onTick(1);
    endTurn();
    expect(events).toEqual(["failed:full"]);
    expect(clientPackets(released)).toEqual([]);
    expect(clientPackets(gate.onPacket(2, CLIENT, submit(2)))).toEqual(["task.failed:overloaded"]);
    retry();
    expect(clientPackets(released)).toEqual([]);
    store.isFull = false;
    retry();
    expect(events).toEqual(["failed:full", "recovered"]);
    expect(store.committed.flat().map((r) => (r.kind === "task" ? r.task.taskId : ""))).toEqual([task(1)]);
    expect(clientPackets(released)).toEqual(["task.ack"]);
    expect(clientPackets(gate.onPacket(3, CLIENT, submit(3)))).toEqual([]);
  });

  it("puts journaled tasks and answers back into a fresh core", () => {
    const { gate, core } = setup();
    const answer = { v: 1, type: "task.failed", from: "disp-1", taskId: task(2), reason: "timeout" };
    gate.recover(0, {
      unfinished: [
        {
          taskId: task(1),
          clientHost: CLIENT.host,
          clientPort: CLIENT.port,
          clientId: "client-1",
          input: "x",
          rounds: 1,
          priority: 0,
          arrivedWallMs: 999_000,
        },
      ],
      finals: [{ taskId: task(2), packetJson: JSON.stringify(answer), answeredWallMs: 999_500 }],
      skippedCount: 0,
      damage: [],
    });
    expect(core.taskState(0, task(1))).toBe("queued");
    // Its owner is restored too: another client cannot cancel it.
    const intruder = core.onPacket(1, CLIENT, { v: 1, type: "task.cancel", from: "intruder", taskId: task(1) });
    expect(intruder).toEqual([{ kind: "packet_dropped", reason: "not_owner", type: "task.cancel" }]);
    expect(core.taskState(1, task(1))).toBe("queued");
    expect(core.finalOf(0, task(2))).toEqual(answer);
    // A repeated submit of the answered id gets the stored answer, not a new run.
    expect(clientPackets(core.onPacket(0, CLIENT, submit(2)))).toEqual(["task.failed:timeout"]);
  });
});
