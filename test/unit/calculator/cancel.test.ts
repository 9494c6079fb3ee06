/**
 * Goal: a calculator obeys the dispatcher's task.cancel (SPEC 9): a running copy is abandoned (its
 * slot goes to the next queued task, its digest when it arrives is not sent), a queued copy is
 * dropped, a later assign of the same task is refused with `cancelled` instead of starting again, and
 * every cancel is answered `cancelled`, also for a task it never had (idempotent).
 * Method: a CalculatorCore with a constant rng, fed plain packets at explicit times.
 */
import { describe, expect, it } from "vitest";

import { CalculatorCore } from "../../../src/calculator/core.js";
import type { CalculatorOutput } from "../../../src/calculator/types.js";
import type { Packet } from "../../../src/protocol/packet.js";
import { simCalculatorConfig } from "../../../src/sim/sim-configs.js";
import type { Endpoint } from "../../../src/transport/transport.js";

const DISPATCHER: Endpoint = { host: "10.0.0.10", port: 5555 };
const task = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

function core(queueMax = 0): CalculatorCore {
  const config = simCalculatorConfig("calc-1", 1, DISPATCHER, {
    capacity: 1,
    queueMax,
    computeMs: { min: 100, max: 100 },
    heartbeatIntervalMs: 100_000,
    ackDelayMs: 100_000,
  });
  const calculator = new CalculatorCore(config, () => 0.5, 0);
  calculator.onTick(0);
  return calculator;
}

const assign = (n: number): Packet => ({
  v: 1,
  type: "task.assign",
  from: "disp-1",
  taskId: task(n),
  attempt: 1,
  input: `in-${n}`,
  rounds: 1,
});
const cancel = (n: number): Packet => ({ v: 1, type: "task.cancel", from: "disp-1", taskId: task(n) });
const cancelledAck = (n: number): CalculatorOutput => ({
  kind: "send",
  to: DISPATCHER,
  packet: { v: 1, type: "task.ack", from: "calc-1", taskId: task(n), state: "cancelled" },
});

describe("CalculatorCore: task.cancel", () => {
  it("abandons a running copy, starts the next queued one, and never sends the abandoned result", () => {
    const calc = core(4);
    calc.onPacket(1, DISPATCHER, assign(1));
    calc.onPacket(2, DISPATCHER, assign(2)); // queued behind task 1
    const outputs = calc.onPacket(10, DISPATCHER, cancel(1));
    expect(outputs[0]).toEqual({ kind: "task_cancelled", taskId: task(1), wasRunning: true });
    expect(outputs[1]).toEqual(cancelledAck(1));
    expect(outputs.slice(2).map((o) => o.kind)).toEqual(["task_started", "compute"]);
    expect(calc.isRunning(task(1))).toBe(false);
    expect(calc.isRunning(task(2))).toBe(true);
    expect(calc.onComputed(50, task(1), "a".repeat(64))).toEqual([]);
  });

  it("drops a queued copy", () => {
    const calc = core(4);
    calc.onPacket(1, DISPATCHER, assign(1));
    calc.onPacket(2, DISPATCHER, assign(2));
    expect(calc.onPacket(3, DISPATCHER, cancel(2))).toEqual([
      { kind: "task_cancelled", taskId: task(2), wasRunning: false },
      cancelledAck(2),
    ]);
    expect(calc.queuedCount).toBe(0);
  });

  it("refuses a delayed assign of a cancelled copy, and answers a cancel of an unknown task", () => {
    const calc = core();
    calc.onPacket(1, DISPATCHER, assign(1));
    calc.onPacket(2, DISPATCHER, cancel(1));
    expect(calc.onPacket(3, DISPATCHER, assign(1))).toEqual([cancelledAck(1)]);
    expect(calc.runningCount).toBe(0);
    expect(calc.onPacket(4, DISPATCHER, cancel(9))).toEqual([cancelledAck(9)]);
    expect(calc.onPacket(5, DISPATCHER, cancel(1))).toEqual([cancelledAck(1)]);
  });
});
