/**
 * Goal: the dispatcher stays the single authority on where a task is: a copy it gave up on (its
 * holder restarted, or was declared dead and came back) never pulls the task back and is revoked
 * with task.cancel, so the task does not run on two nodes.
 * Method: the dispatcher core with two overlay calculators, plain packets and explicit nowMs.
 */
import { describe, expect, it } from "vitest";

import { CalculatorCore } from "../../../src/calculator/core.js";
import { DispatcherCore } from "../../../src/dispatcher/core.js";
import type { DispatcherOutput } from "../../../src/dispatcher/types.js";
import { seededRng } from "../../../src/runtime/rng.js";
import { simCalculatorConfig, simDispatcherConfig } from "../../../src/sim/sim-configs.js";

const DISPATCHER = { host: "10.0.0.1", port: 5555 };
const CLIENT = { host: "10.0.2.1", port: 9000 };
const X = { host: "10.0.1.1", port: 7001 };
const Y = { host: "10.0.1.2", port: 7002 };
const TASK = "00000000-0000-4000-8000-00000000000a";
const AT = { x: X, y: Y } as const;

function heartbeat(
  core: DispatcherCore,
  nowMs: number,
  name: "x" | "y",
  boot: number,
  seq: number,
): DispatcherOutput[] {
  return core.onPacket(nowMs, AT[name], {
    v: 1,
    type: "calc.heartbeat",
    from: name,
    boot,
    seq,
    capacity: 3,
    running: 0,
  });
}

function cancelsTo(outputs: readonly DispatcherOutput[]): unknown[] {
  return outputs.flatMap((o) => (o.kind === "send" && o.packet.type === "task.cancel" ? [o.to] : []));
}

/** x holds the task and moves it to y over the overlay: the copy is y's. */
function movedToY(heartbeatTimeoutMs = 60_000): DispatcherCore {
  const core = new DispatcherCore(
    simDispatcherConfig({ taskTimeoutMs: 60_000, heartbeatTimeoutMs, evictAfterMs: 600_000 }),
  );
  heartbeat(core, 0, "x", 1, 1);
  core.onPacket(0, CLIENT, { v: 1, type: "task.submit", from: "c", taskId: TASK, input: "abc", rounds: 1 });
  heartbeat(core, 0, "y", 1, 1);
  expect(core.holderOf(TASK)).toBe("x");
  // y's arrival announcement is only a hint (issue 12): it makes the dispatcher probe the holder x,
  // and x's "moved" answer naming y is what moves the copy.
  const probe = core.onPacket(10, Y, { v: 1, type: "task.ack", from: "y", taskId: TASK, state: "moved", holder: "y" });
  expect(probe.flatMap((o) => (o.kind === "send" && o.packet.type === "task.assign" ? [o.to] : []))).toEqual([X]);
  expect(core.holderOf(TASK)).toBe("x");
  core.onPacket(11, X, { v: 1, type: "task.ack", from: "x", taskId: TASK, state: "moved", holder: "y" });
  expect(core.holderOf(TASK)).toBe("y");
  return core;
}

describe("abandoned copies", () => {
  it("a node declared dead that comes back (same boot) has the copies placed elsewhere revoked at once", () => {
    const core = movedToY(500);
    heartbeat(core, 400, "x", 1, 2);
    const dead = core.onTick(600); // y silent: dead, its copy lost and the task placed on x again
    expect(dead.map((o) => o.kind)).toContain("calculator_dead");
    expect(core.holderOf(TASK)).toBe("x");
    const back = heartbeat(core, 700, "y", 1, 2);
    expect(back.map((o) => o.kind)).toContain("calculator_recovered");
    expect(cancelsTo(back)).toEqual([Y]);
    // Its stale receipt for that copy is revoked too, and never makes it the holder again.
    const receipt = core.onPacket(710, Y, { v: 1, type: "task.ack", from: "y", taskId: TASK, state: "running" });
    expect(receipt[0]).toEqual({ kind: "packet_dropped", reason: "revoked_copy", type: "task.ack" });
    expect(core.holderOf(TASK)).toBe("x");
  });
});

describe("a calculator's incarnation on assigns", () => {
  it("a probe meant for an earlier life is dropped unopened; one for this life starts the task", () => {
    const config = simCalculatorConfig("x", 2_000, { host: "10.0.0.1", port: 5555 }, { capacity: 1 });
    const calc = new CalculatorCore(config, seededRng(1), 0);
    const assign = { v: 1, type: "task.assign", from: "d", taskId: TASK, attempt: 1, input: "abc", rounds: 1 } as const;
    expect(calc.onPacket(0, DISPATCHER, { ...assign, toBoot: 1_000 })).toEqual([
      { kind: "packet_dropped", reason: "stale_incarnation", type: "task.assign" },
    ]);
    expect(calc.isRunning(TASK)).toBe(false);
    expect(calc.onPacket(1, DISPATCHER, { ...assign, toBoot: 2_000 }).map((o) => o.kind)).toContain("task_started");
  });
});
