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

describe("revocation is bounded by attempt", () => {
  const config = simCalculatorConfig("x", 2_000, DISPATCHER, { capacity: 1 });
  const assign = (attempt: number) =>
    ({ v: 1, type: "task.assign", from: "d", taskId: TASK, attempt, input: "abc", rounds: 1, toBoot: 2_000 }) as const;
  const cancel = (attempt?: number) =>
    ({ v: 1, type: "task.cancel", from: "d", taskId: TASK, ...(attempt === undefined ? {} : { attempt }) }) as const;

  it("a cancel up to attempt 2 refuses a late assign of attempt 2 but not a later copy, which it never stops", () => {
    const calc = new CalculatorCore(config, seededRng(1), 0);
    expect(calc.onPacket(0, DISPATCHER, cancel(2))).toEqual([
      {
        kind: "send",
        to: DISPATCHER,
        packet: { v: 1, type: "task.ack", from: "x", taskId: TASK, state: "cancelled", attempt: 2 },
      },
    ]);
    const late = calc.onPacket(1, DISPATCHER, assign(2));
    expect(late.map((o) => (o.kind === "send" && o.packet.type === "task.ack" ? o.packet.state : o.kind))).toEqual([
      "cancelled",
    ]);
    expect(calc.isRunning(TASK)).toBe(false);
    expect(calc.onPacket(2, DISPATCHER, assign(3)).map((o) => o.kind)).toContain("task_started");
    calc.onPacket(3, DISPATCHER, cancel(2)); // repeated, late: the copy of attempt 3 runs on
    expect(calc.isRunning(TASK)).toBe(true);
    expect(calc.onPacket(4, DISPATCHER, cancel()).map((o) => o.kind)).toContain("task_cancelled"); // unbounded
    expect(calc.isRunning(TASK)).toBe(false);
  });

  it("a calculator whose copy was revoked can take the task again; a late answer to the revocation is ignored", () => {
    const core = movedToY(500);
    heartbeat(core, 400, "x", 1, 2);
    core.onTick(600); // y dead: the task is placed on x again (attempt 2)
    const back = heartbeat(core, 700, "y", 1, 2);
    const revoke = back.find((o) => o.kind === "send" && o.packet.type === "task.cancel");
    expect(revoke?.kind === "send" ? revoke.packet : undefined).toMatchObject({ taskId: TASK, attempt: 2 });
    // y answers the revocation; later x dies and the task is placed on y once more (attempt 3).
    core.onPacket(710, Y, { v: 1, type: "task.ack", from: "y", taskId: TASK, state: "cancelled", attempt: 2 });
    heartbeat(core, 1_000, "y", 1, 3);
    core.onTick(1_300); // x silent since 400: dead
    expect(core.holderOf(TASK)).toBe("y");
    // A duplicate of y's answer to the revocation arrives late: it does not take the new copy away.
    const late = core.onPacket(1_310, Y, {
      v: 1,
      type: "task.ack",
      from: "y",
      taskId: TASK,
      state: "cancelled",
      attempt: 2,
    });
    expect(late).toEqual([{ kind: "packet_dropped", reason: "late_result", type: "task.ack" }]);
    expect(core.holderOf(TASK)).toBe("y");
  });
});
