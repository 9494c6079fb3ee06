/**
 * Goal: the dispatcher core answers each task exactly once and is idempotent (SPEC 5, guarantees 1
 * and 3): a duplicate submit is answered from the cache (completed) or with a receipt (pending), at
 * the client's current address; a receipt goes out only when no answer is ready within ackDelayMs;
 * the first valid result wins and later copies are `late_result`; a done from a calculator that was
 * never given the task, or from an unknown one, changes nothing; a repeated done frees no slot twice;
 * a `busy` ack re-places the task; assigns are resent on the assignRetryMs table, then on
 * probeIntervalMs after an ack; every client-facing packet carries `from: nodeId`.
 * Method: a DispatcherCore fed plain packets and explicit nowMs; complete output lists at exact ms.
 */
import { describe, expect, it } from "vitest";

import type { DispatcherOutput } from "../../../src/dispatcher/types.js";
import { sameEndpoint } from "../../../src/transport/transport.js";
import {
  assignTo,
  CALC,
  CLIENT,
  CLIENT_MOVED,
  cancelOf,
  DISPATCHER_ID,
  done,
  Harness,
  receiptTo,
  resultTo,
  task,
} from "./fixtures.js";

const completed = (n: number, calc: string, latencyMs: number, attempts: number): DispatcherOutput => ({
  kind: "task_completed",
  taskId: task(n),
  calculatorId: calc,
  latencyMs,
  attempts,
});

describe("DispatcherCore: duplicate submits", () => {
  it("answers a duplicate submit of a completed task from the cache with the identical packet, at the new address", () => {
    const h = new Harness();
    h.beat(0, "a");
    h.submit(0, 1);
    const first = h.done(50, "a", 1, 1);
    expect(first).toEqual([resultTo(CLIENT, 1, "a", 1), completed(1, "calc-a", 50, 1)]);

    const firstPacket = first[0]?.kind === "send" ? first[0].packet : undefined;
    expect(h.submit(60, 1, CLIENT_MOVED)).toEqual([{ kind: "send", to: CLIENT_MOVED, packet: firstPacket }]);
    // Not executed again: no assign, and the calculator stays free.
    expect(h.core.registry.get("calc-a")?.assigned.size).toBe(0);
    expect(h.core.taskState(60, task(1))).toBe("done");
  });

  it("answers a duplicate submit of a pending task with a receipt, and sends the final answer to the new address", () => {
    const h = new Harness();
    h.beat(0, "a");
    h.submit(0, 1);
    h.submit(1, 2);
    expect(h.submit(10, 1, CLIENT_MOVED)).toEqual([receiptTo(CLIENT_MOVED, 1, "running")]);
    expect(h.submit(11, 2)).toEqual([receiptTo(CLIENT, 2, "queued")]);
    expect(h.core.counts()).toEqual({ queued: 1, running: 1, cachedResults: 0 });
    expect(h.done(20, "a", 1, 1).slice(0, 1)).toEqual([resultTo(CLIENT_MOVED, 1, "a", 1)]);
  });
});

describe("DispatcherCore: delayed receipts", () => {
  it("sends no receipt when the result arrives within ackDelayMs", () => {
    const h = new Harness({ ackDelayMs: 40 });
    h.beat(0, "a");
    h.submit(0, 1);
    expect(h.core.onTick(38)).toEqual([]);
    expect(h.done(39, "a", 1, 1)).toEqual([resultTo(CLIENT, 1, "a", 1), completed(1, "calc-a", 39, 1)]);
    expect(h.tickEachMs(39, 200)).toEqual([]);
  });

  it("sends exactly one receipt at arrival + ackDelayMs when no answer is ready", () => {
    const h = new Harness({ ackDelayMs: 40 });
    h.beat(0, "a");
    h.submit(5, 1);
    h.submit(6, 2);
    expect(h.tickEachMs(6, 200)).toEqual([
      { atMs: 45, output: receiptTo(CLIENT, 1, "running") },
      { atMs: 46, output: receiptTo(CLIENT, 2, "queued") },
    ]);
  });

  it("a duplicate submit's immediate receipt replaces the delayed one", () => {
    const h = new Harness({ ackDelayMs: 40 });
    h.beat(0, "a");
    h.submit(0, 1);
    expect(h.submit(10, 1)).toEqual([receiptTo(CLIENT, 1, "running")]);
    expect(h.tickEachMs(10, 200)).toEqual([]);
  });
});

describe("DispatcherCore: results from calculators", () => {
  it("accepts a late result from the abandoned first copy once, cancels the second copy and drops its result as late_result", () => {
    const h = new Harness();
    h.beat(0, "a");
    h.beat(0, "b");
    h.submit(0, 1);
    for (const nowMs of [300, 600, 900, 1_200]) {
      h.beat(nowMs, "a", { running: 1 });
      h.beat(nowMs, "b");
    }
    expect(h.core.onTick(1_500)).toEqual([
      { kind: "task_replaced", taskId: task(1), calculatorId: "calc-a", reason: "task_timeout" },
      assignTo("b", 1, 2),
    ]);

    expect(h.done(1_600, "a", 1, 1)).toEqual([
      resultTo(CLIENT, 1, "a", 2),
      completed(1, "calc-a", 1_600, 2),
      ...cancelOf("b", 1, 2),
    ]);
    const late = [{ kind: "packet_dropped", reason: "late_result", type: "task.done" }];
    expect(h.done(1_700, "b", 1, 2)).toEqual(late);
    expect(h.done(1_701, "a", 1, 1)).toEqual(late);
    expect(h.core.registry.get("calc-a")?.assigned.size).toBe(0);
    expect(h.core.registry.get("calc-b")?.assigned.size).toBe(0);
    expect(h.core.registry.get("calc-a")?.completedCount).toBe(1);
    expect(h.core.registry.get("calc-b")?.completedCount).toBe(0);
  });

  it("drops a done from a calculator never given the task as not_assigned, changing nothing", () => {
    const h = new Harness();
    h.beat(0, "a");
    h.beat(0, "c");
    h.submit(0, 1); // -> calc-a
    expect(h.done(10, "c", 1, 1)).toEqual([{ kind: "packet_dropped", reason: "not_assigned", type: "task.done" }]);
    expect(h.core.taskState(10, task(1))).toBe("running");
    expect(h.core.holderOf(task(1))).toBe("calc-a");
    expect(h.core.registry.get("calc-c")).toMatchObject({ completedCount: 0 });
    expect(h.core.registry.estimates.view(10, "calc-c")).toEqual({ failureRate: 0, latencyMs: undefined });
    // The real result is still accepted, with calc-a's digest.
    expect(h.done(20, "a", 1, 1)).toEqual([resultTo(CLIENT, 1, "a", 1), completed(1, "calc-a", 20, 1)]);
  });

  it("drops a done from an unknown calculator, or from a known id at another address, as unknown_calculator", () => {
    const h = new Harness();
    h.beat(0, "a");
    h.submit(0, 1);
    const unknown = [{ kind: "packet_dropped", reason: "unknown_calculator", type: "task.done" }];
    expect(h.done(10, "b", 1, 1)).toEqual(unknown);
    expect(h.core.onPacket(11, CALC.b, done("a", 1, 1))).toEqual(unknown); // forged source address
    expect(h.core.taskState(11, task(1))).toBe("running");
    expect(h.core.registry.get("calc-a")?.lastHeardMs).toBe(0);
    expect(h.done(20, "a", 1, 1)[0]).toEqual(resultTo(CLIENT, 1, "a", 1));
  });

  it("drops a done for a task it never had as unknown_task", () => {
    const h = new Harness();
    h.beat(0, "a");
    expect(h.done(10, "a", 9, 1)).toEqual([{ kind: "packet_dropped", reason: "unknown_task", type: "task.done" }]);
  });

  it("a retransmitted done frees no slot twice", () => {
    const h = new Harness();
    h.beat(0, "a", { capacity: 2 });
    expect(h.submit(0, 1)).toEqual([assignTo("a", 1, 1)]);
    expect(h.submit(0, 2)).toEqual([assignTo("a", 2, 1)]);
    h.done(10, "a", 1, 1);
    expect(h.done(11, "a", 1, 1)).toEqual([{ kind: "packet_dropped", reason: "late_result", type: "task.done" }]);
    expect([...(h.core.registry.get("calc-a")?.assigned ?? [])]).toEqual([task(2)]);
    expect(h.submit(12, 3)).toEqual([assignTo("a", 3, 1)]);
    expect(h.submit(13, 4)).toEqual([]); // both slots taken: queued, not over-assigned
    expect(h.core.counts()).toEqual({ queued: 1, running: 2, cachedResults: 1 });
  });
});

describe("DispatcherCore: calculator acks and assign resends", () => {
  it("re-places a task on another calculator when its calculator answers busy", () => {
    const h = new Harness();
    h.beat(0, "a");
    h.beat(0, "b");
    h.submit(0, 1);
    expect(h.ack(10, "a", 1, "busy")).toEqual([
      { kind: "task_replaced", taskId: task(1), calculatorId: "calc-a", reason: "busy" },
      assignTo("b", 1, 2),
    ]);
    expect(h.core.registry.get("calc-a")).toMatchObject({ reportedRunning: 1 });
    // A busy ack from a calculator that no longer holds the task changes nothing.
    expect(h.ack(11, "a", 1, "busy")).toEqual([{ kind: "packet_dropped", reason: "not_assigned", type: "task.ack" }]);
    expect(h.core.holderOf(task(1))).toBe("calc-b");
  });

  it("resends an assign on the assignRetryMs table and, after an ack, every probeIntervalMs", () => {
    const h = new Harness({
      assignRetryMs: [60, 120, 240],
      probeIntervalMs: 300,
      heartbeatTimeoutMs: 10_000,
      evictAfterMs: 20_000,
      taskTimeoutMs: 100_000,
    });
    h.beat(0, "a");
    expect(h.submit(0, 1)).toEqual([assignTo("a", 1, 1)]);
    const sendTimes = (fromMs: number, toMs: number): number[] =>
      h.tickEachMs(fromMs, toMs).map(({ atMs, output }) => {
        expect(output).toEqual(assignTo("a", 1, 1));
        return atMs;
      });

    expect(sendTimes(1, 499)).toEqual([60, 180, 420]);
    expect(h.ack(500, "a", 1, "running")).toEqual([]);
    expect(sendTimes(500, 699)).toEqual([]);
    expect(h.ack(700, "a", 1, "running")).toEqual([]); // a second ack does not push the probe back
    expect(sendTimes(700, 1_450)).toEqual([800, 1_100, 1_400]);
    expect(h.core.assignResentCount).toBe(6);
  });

  it("stops resending once the task is done", () => {
    const h = new Harness({ assignRetryMs: [60], heartbeatTimeoutMs: 10_000, evictAfterMs: 20_000 });
    h.beat(0, "a");
    h.submit(0, 1);
    expect(h.tickEachMs(1, 60)).toEqual([{ atMs: 60, output: assignTo("a", 1, 1) }]);
    h.done(61, "a", 1, 1);
    expect(h.tickEachMs(61, 1_000)).toEqual([]);
  });
});

describe("DispatcherCore: client-facing packets", () => {
  it("every packet to a client carries from: nodeId", () => {
    const h = new Harness({ ackDelayMs: 40, tasksMax: 3, queueMax: 1, queueTimeoutMs: 1_000 });
    const toClient: DispatcherOutput[] = [];
    const collect = (outputs: DispatcherOutput[]): void => {
      for (const output of outputs)
        if (output.kind === "send" && sameEndpoint(output.to, CLIENT)) toClient.push(output);
    };
    h.beat(0, "a");
    collect(h.submit(0, 1)); // running
    collect(h.submit(0, 2)); // queued
    collect(h.submit(0, 3)); // overloaded (queue full, no free slot)
    collect(h.submit(1, 2)); // receipt
    collect(h.core.onTick(40)); // delayed receipt for task 1
    collect(h.done(50, "a", 1, 1)); // result; task 2 placed
    collect(h.submit(51, 1)); // cached result
    h.beat(300, "a", { running: 1 });
    h.beat(600, "a", { running: 1 });
    h.beat(900, "a", { running: 1 });
    collect(h.core.onTick(1_000)); // task 2 timeout
    expect(toClient.map((output) => output.kind === "send" && [output.packet.type, output.packet.from])).toEqual([
      ["task.failed", DISPATCHER_ID],
      ["task.ack", DISPATCHER_ID],
      ["task.ack", DISPATCHER_ID],
      ["task.result", DISPATCHER_ID],
      ["task.result", DISPATCHER_ID],
      ["task.failed", DISPATCHER_ID],
    ]);
  });
});
