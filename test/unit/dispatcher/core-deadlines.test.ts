/**
 * Goal: a task's own `deadlineMs` (SPEC 8) bounds the time from its arrival to its final answer: at
 * exactly arrival + deadlineMs it is failed `deadline` once, whether queued or running (its live copies
 * are cancelled with task.cancel like any final answer), a deadline above queueTimeoutMs is capped there
 * (reason `timeout`), and nextDeadlineMs always names the earliest deadline, not the oldest task's.
 * Method: a DispatcherCore fed plain packets with an explicit nowMs (a manual clock); each step asserts
 * the complete output list at the exact ms.
 */
import { describe, expect, it } from "vitest";

import { assignTo, CLIENT, cancelOf, failedTo, Harness, task } from "./fixtures.js";

function failed(n: number, reason: "deadline" | "timeout") {
  return [failedTo(CLIENT, n, reason), { kind: "task_failed", taskId: task(n), reason }];
}

describe("DispatcherCore: per-task deadlines", () => {
  it("fails a queued task `deadline` exactly at arrival + deadlineMs, before an older task with a longer one", () => {
    const h = new Harness({ queueTimeoutMs: 60_000 });
    h.submit(0, 1); // queueTimeoutMs only: due at 60 000
    h.submit(100, 2, CLIENT, { deadlineMs: 2_000 }); // due at 2 100
    h.submit(200, 3, CLIENT, { deadlineMs: 1_000 }); // due at 1 200
    expect(h.core.nextDeadlineMs()).toBe(1_200);
    expect(h.core.onTick(1_199)).toEqual([]);
    expect(h.core.onTick(1_200)).toEqual(failed(3, "deadline"));
    expect(h.core.nextDeadlineMs()).toBe(2_100);
    expect(h.core.onTick(2_100)).toEqual(failed(2, "deadline"));
    expect(h.core.nextDeadlineMs()).toBe(60_000);
    expect(h.core.onTick(59_999)).toEqual([]);
    expect(h.core.onTick(60_000)).toEqual(failed(1, "timeout"));
    expect(h.core.nextDeadlineMs()).toBeUndefined();
    expect(h.core.counts()).toEqual({ queued: 0, running: 0, cachedResults: 3 });
    // The answer is kept: a resent submit gets it again, and the task is not run.
    expect(h.submit(3_000, 3, CLIENT, { deadlineMs: 1_000 })).toEqual([failedTo(CLIENT, 3, "deadline")]);
    const answer = failedTo(CLIENT, 3, "deadline");
    expect(h.core.finalOf(3_000, task(3))).toEqual(answer.kind === "send" ? answer.packet : undefined);
  });

  it("fails a running task `deadline`, cancels its copy and drops the late result", () => {
    const h = new Harness({
      queueTimeoutMs: 60_000,
      taskTimeoutMs: 100_000,
      heartbeatTimeoutMs: 100_000,
      evictAfterMs: 200_000,
    });
    h.beat(0, "a");
    expect(h.submit(0, 1, CLIENT, { deadlineMs: 700 })).toEqual([assignTo("a", 1, 1)]);
    expect(h.core.onTick(699)).toEqual([]);
    expect(h.core.onTick(700)).toEqual([...failed(1, "deadline"), ...cancelOf("a", 1, 1)]);
    expect(h.core.registry.get("calc-a")?.assigned.size).toBe(0);
    expect(h.done(701, "a", 1, 1)).toEqual([{ kind: "packet_dropped", reason: "late_result", type: "task.done" }]);
    expect(h.core.onTick(702)).toEqual([]);
  });

  it("a task answered before its deadline is not failed later, and its deadline no longer wakes the core", () => {
    const h = new Harness({ queueTimeoutMs: 60_000, heartbeatTimeoutMs: 100_000, evictAfterMs: 200_000 });
    h.beat(0, "a");
    h.submit(0, 1, CLIENT, { deadlineMs: 500 });
    expect(h.core.nextDeadlineMs()).toBe(500);
    h.done(100, "a", 1, 1);
    expect(h.core.nextDeadlineMs()).not.toBe(500);
    expect(h.core.onTick(500)).toEqual([]);
  });

  it("caps a deadline above queueTimeoutMs at queueTimeoutMs, where the failure is `timeout`", () => {
    const h = new Harness({ queueTimeoutMs: 5_000 });
    h.submit(0, 1, CLIENT, { deadlineMs: 9_000 });
    h.submit(0, 2, CLIENT, { deadlineMs: 5_000 }); // equal to the cap: its own bound, so `deadline`
    expect(h.core.nextDeadlineMs()).toBe(5_000);
    expect(h.core.onTick(4_999)).toEqual([]);
    expect(h.core.onTick(5_000)).toEqual([...failed(1, "timeout"), ...failed(2, "deadline")]);
  });

  it("a task restored from the journal keeps its own deadline, counted from its arrival", () => {
    const h = new Harness({ queueTimeoutMs: 60_000 });
    const restored = { taskId: task(1), client: CLIENT, input: "in-1", rounds: 3, priority: 0 };
    expect(h.core.restoreTask(10_000, { ...restored, deadlineMs: 3_000, ageMs: 1_000 })).toEqual([]);
    expect(h.core.nextDeadlineMs()).toBe(12_000);
    expect(h.core.onTick(12_000)).toEqual(failed(1, "deadline"));
  });

  it("expires the due tasks among many queued ones in due order, and only those", () => {
    const h = new Harness({ queueTimeoutMs: 60_000, tasksMax: 5_000, queueMax: 5_000 });
    // 2 000 queued tasks with deadlines 1..2 000 ms in a shuffled order (a fixed permutation).
    const order = Array.from({ length: 2_000 }, (_, i) => ((i * 7_919) % 2_000) + 1);
    for (const [n, deadlineMs] of order.entries()) h.submit(0, n + 1, CLIENT, { deadlineMs });
    expect(h.core.nextDeadlineMs()).toBe(1);
    const expired = h.core.onTick(10).filter((o) => o.kind === "task_failed");
    const expected = order
      .map((deadlineMs, i) => ({ deadlineMs, n: i + 1 }))
      .filter((t) => t.deadlineMs <= 10)
      .sort((a, b) => a.deadlineMs - b.deadlineMs);
    expect(expired).toEqual(expected.map((t) => ({ kind: "task_failed", taskId: task(t.n), reason: "deadline" })));
    expect(h.core.counts().queued).toBe(1_990);
    expect(h.core.nextDeadlineMs()).toBe(11);
  });
});
