/**
 * Goal: TaskTable keeps its books straight on its own: a live copy is exactly one entry in its
 * calculator's `assigned` set and one pending assign; ending a copy frees both once (a second end is
 * a no-op); `busy` refusals forget the copy so the calculator may get the task again; removing a task
 * cancels its live copies and takes it out of the queue; assigns are resent on the retry table, then
 * probed after an ack.
 * Method: a TaskTable over a real CalculatorRegistry fed two heartbeats; plain values, explicit nowMs.
 */
import { describe, expect, it } from "vitest";

import { CalculatorRegistry } from "../../../src/dispatcher/registry.js";
import { newTaskEntry, TaskTable } from "../../../src/dispatcher/task-table.js";
import { CLIENT, task } from "./fixtures.js";

function setup() {
  const registry = new CalculatorRegistry({ heartbeatTimeoutMs: 1_000, evictAfterMs: 5_000, calculatorsMax: 8 });
  for (const [id, port] of [
    ["calc-a", 1],
    ["calc-b", 2],
  ] as const) {
    registry.onHeartbeat(
      0,
      { host: "10.0.0.1", port },
      { v: 1, type: "calc.heartbeat", from: id, boot: 1, seq: 1, capacity: 2, running: 0 },
    );
  }
  const table = new TaskTable(
    { tasksMax: 4, taskTimeoutMs: 500, assignRetryMs: [50, 100], probeIntervalMs: 300 },
    registry,
    3,
  );
  const entry = newTaskEntry({
    taskId: task(1),
    client: CLIENT,
    input: "x",
    rounds: 1,
    priority: 0,
    arrivedMs: 0,
    deadlineMs: 9_000,
    factor: 2,
    quorum: 2,
  });
  table.add(entry);
  const a = registry.get("calc-a");
  const b = registry.get("calc-b");
  if (a === undefined || b === undefined) throw new Error("registry lost a calculator");
  return { registry, table, entry, a, b };
}

describe("TaskTable", () => {
  it("a live copy holds a slot and a pending assign; ending it frees both exactly once", () => {
    const { table, entry, a, b } = setup();
    const copy = table.startCopy(0, entry, a, "primary");
    table.startCopy(0, entry, b, "replica");
    expect(copy).toMatchObject({ attempt: 1, state: "live", timeoutMs: 500 });
    expect([...a.assigned]).toEqual([task(1)]);
    expect(entry.liveCount).toBe(2);
    expect(table.copyTimeoutWakeMs).toBe(500);
    expect(table.endCopy(entry, "calc-a", "lost")).toBe(copy);
    expect(table.endCopy(entry, "calc-a", "lost")).toBeUndefined();
    expect(a.assigned.size).toBe(0);
    expect(entry.liveCount).toBe(1);
    expect([...table.dueAssigns(50)].map(({ copy: due }) => due.calculatorId)).toEqual(["calc-b"]);
    expect(table.excludedFor(entry)).toEqual(new Set(["calc-a", "calc-b"]));
  });

  it("a busy refusal forgets the copy: the calculator is no longer excluded", () => {
    const { table, entry, a } = setup();
    table.startCopy(0, entry, a, "primary");
    table.endCopy(entry, "calc-a", "lost", true);
    expect(table.excludedFor(entry).size).toBe(0);
    expect(table.startCopy(10, entry, a, "replacement").attempt).toBe(2);
  });

  it("refuses two live copies of one task on one calculator (a programming error)", () => {
    const { table, entry, a } = setup();
    table.startCopy(0, entry, a, "primary");
    expect(() => table.startCopy(1, entry, a, "replica")).toThrow(/two live copies/);
  });

  it("remove() cancels live copies, leaves lost ones alone, and unqueues the task", () => {
    const { table, entry, a, b } = setup();
    table.startCopy(0, entry, a, "primary");
    table.startCopy(0, entry, b, "replica");
    table.endCopy(entry, "calc-b", "lost");
    table.queue.enqueue(entry);
    expect(table.remove(entry).map((copy) => copy.calculatorId)).toEqual(["calc-a"]);
    expect(table.get(task(1))).toBeUndefined();
    expect(table.queue.size).toBe(0);
    expect(a.assigned.size + b.assigned.size).toBe(0);
    expect([...table.dueAssigns(10_000)]).toEqual([]);
  });

  it("resends on the retry table, then probes every probeIntervalMs after an ack; `queued` restarts the timeout", () => {
    const { table, entry, a } = setup();
    const copy = table.startCopy(0, entry, a, "primary");
    const dueAt = (fromMs: number, toMs: number): number[] => {
      const times: number[] = [];
      for (let nowMs = fromMs; nowMs <= toMs; nowMs += 1)
        if ([...table.dueAssigns(nowMs)].length > 0) times.push(nowMs);
      return times;
    };
    expect(dueAt(1, 260)).toEqual([50, 150, 250]);
    table.markAcked(260, entry, copy, true);
    expect(copy.timeoutMs).toBe(760);
    expect(dueAt(261, 900)).toEqual([560, 860]);
  });
});
