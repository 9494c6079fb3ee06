/**
 * Goal: the dispatcher alone says where a task is, also for a move offer that outlived its move. A
 * giver cut off as it sent an offer is declared dead and its task placed elsewhere (and often
 * answered); back in the same life it resent the offer, and the receiver ran the task a second time
 * (issue 13 review, overlay fault seed 1001 of the review's plan). Now:
 *  - a receiver holds a moved task unstarted until the dispatcher's assign confirms the move;
 *  - the dispatcher refuses a stale arrival (task answered, or placed elsewhere since) with a cancel,
 *    and confirms one it follows with an assign as soon as the giver's word moves the copy;
 *  - a move followed onto a calculator already dead is a loss (held for a claim, then placed again).
 * Method: the calculator and dispatcher cores with plain packets and explicit nowMs.
 */
import { describe, expect, it } from "vitest";

import { ARRIVAL_RESENDS_MAX } from "../../../src/calculator/arrivals.js";
import { CalculatorCore } from "../../../src/calculator/core.js";
import type { CalculatorOutput } from "../../../src/calculator/types.js";
import { CLAIM_HOLD_SHARE } from "../../../src/dispatcher/copy-losses.js";
import { DispatcherCore } from "../../../src/dispatcher/core.js";
import type { DispatcherOutput } from "../../../src/dispatcher/types.js";
import type { Packet } from "../../../src/protocol/packet.js";
import { seededRng } from "../../../src/runtime/rng.js";
import { simCalculatorConfig, simDispatcherConfig } from "../../../src/sim/sim-configs.js";

const DISPATCHER = { host: "10.0.0.1", port: 5555 };
const CLIENT = { host: "10.0.2.1", port: 9000 };
const AT = {
  x: { host: "10.0.1.1", port: 7001 },
  y: { host: "10.0.1.2", port: 7002 },
  z: { host: "10.0.1.3", port: 7003 },
} as const;
type Name = keyof typeof AT;
const TASK = "00000000-0000-4000-8000-00000000000a";
const MOVED = { taskId: TASK, input: "abc", rounds: 1 };
const HEARTBEAT_TIMEOUT_MS = 1_000;

function sends(outputs: readonly (CalculatorOutput | DispatcherOutput)[]): Packet[] {
  return outputs.flatMap((o) => (o.kind === "send" ? [o.packet] : []));
}

function startedIn(outputs: readonly CalculatorOutput[]): string[] {
  return outputs.flatMap((o) => (o.kind === "task_started" ? [o.taskId] : []));
}

function receiverY(): CalculatorCore {
  const config = simCalculatorConfig("y", 1, DISPATCHER, { capacity: 2, queueMax: 4, heartbeatIntervalMs: 60_000 });
  const calc = new CalculatorCore(config, seededRng(1), 0);
  calc.onTick(0); // first heartbeat out of the way
  return calc;
}

function assignOf(attempt: number): Packet {
  return { v: 1, type: "task.assign", from: "dispatcher", taskId: TASK, attempt, input: "abc", rounds: 1, toBoot: 1 };
}

/** A dispatcher with overlay nodes x, y, z (boot 1) and TASK placed on x. */
function cluster(): { core: DispatcherCore; beat: (nowMs: number, name: Name) => DispatcherOutput[] } {
  const core = new DispatcherCore(
    simDispatcherConfig({ taskTimeoutMs: 60_000, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS, evictAfterMs: 600_000 }),
  );
  let seq = 0;
  const beat = (nowMs: number, name: Name): DispatcherOutput[] => {
    seq += 1;
    return core.onPacket(nowMs, AT[name], {
      v: 1,
      type: "calc.heartbeat",
      from: name,
      boot: 1,
      seq,
      capacity: 3,
      running: 0,
      overlayRole: "node",
      overlaySlots: 1,
      overlayParents: [],
    });
  };
  beat(0, "x");
  core.onPacket(0, CLIENT, { v: 1, type: "task.submit", from: "c", taskId: TASK, input: "abc", rounds: 1 });
  beat(0, "y");
  beat(0, "z");
  expect(core.holderOf(TASK)).toBe("x");
  return { core, beat };
}

function arrival(core: DispatcherCore, nowMs: number, giver: Name): DispatcherOutput[] {
  return core.onPacket(nowMs, AT.y, {
    v: 1,
    type: "task.ack",
    from: "y",
    taskId: TASK,
    state: "moved",
    holder: "y",
    giver,
  });
}

function packetsTo(outputs: readonly DispatcherOutput[], name: Name, type: Packet["type"]): Packet[] {
  return outputs.flatMap((o) => (o.kind === "send" && o.to === AT[name] && o.packet.type === type ? [o.packet] : []));
}

describe("a receiver holds a moved task until the dispatcher confirms the move", () => {
  it("never starts it on its own, even with free slots; the dispatcher's assign starts it", () => {
    const calc = receiverY();
    const taken = calc.acceptIncoming(5, [MOVED], "x");
    expect(taken.accepted).toEqual([TASK]);
    expect(startedIn(taken.outputs)).toEqual([]);
    let started: string[] = [];
    for (let t = 10; t <= 2_000; t += 5) started = [...started, ...startedIn(calc.onTick(t))];
    expect(started).toEqual([]);
    expect(calc.runningCount).toBe(0);
    // Held: not in the movable load, never offered on.
    expect(calc.queuedCount).toBe(0);
    expect(calc.reserveQueued(8)).toEqual([]);
    expect(startedIn(calc.onPacket(2_005, DISPATCHER, assignOf(1)))).toEqual([TASK]);
    expect(calc.arrivedCount).toBe(0);
  });

  it("drops it when the dispatcher refuses the move (cancel), and a late assign of that copy does not start it", () => {
    const calc = receiverY();
    calc.acceptIncoming(5, [MOVED], "x");
    calc.onPacket(20, DISPATCHER, { v: 1, type: "task.cancel", from: "dispatcher", taskId: TASK, attempt: 2 });
    expect(calc.arrivedCount).toBe(0);
    expect(startedIn(calc.onPacket(30, DISPATCHER, assignOf(2)))).toEqual([]);
    // A copy placed here later (a higher attempt) does run.
    expect(startedIn(calc.onPacket(40, DISPATCHER, assignOf(3)))).toEqual([TASK]);
  });

  it("drops it once its announcement is given up unanswered; an assign that follows the move later still runs it", () => {
    const calc = receiverY();
    calc.acceptIncoming(0, [MOVED], "x");
    let announced = 0;
    for (let t = 5; t <= 10_000; t += 5)
      announced += sends(calc.onTick(t)).filter((p) => p.type === "task.ack" && p.state === "moved").length;
    expect(announced).toBe(ARRIVAL_RESENDS_MAX);
    expect(calc.arrivedCount).toBe(0);
    expect(startedIn(calc.onPacket(10_005, DISPATCHER, assignOf(1)))).toEqual([TASK]);
  });
});

describe("the dispatcher answers an arrival announcement", () => {
  it("from a move it can follow: probes the giver, and the giver's word moves the copy and confirms it at once", () => {
    const { core } = cluster();
    const probe = arrival(core, 10, "x");
    expect(packetsTo(probe, "x", "task.assign")).toHaveLength(1);
    expect(packetsTo(probe, "y", "task.cancel")).toEqual([]);
    expect(core.holderOf(TASK)).toBe("x");
    const moved = core.onPacket(12, AT.x, {
      v: 1,
      type: "task.ack",
      from: "x",
      taskId: TASK,
      state: "moved",
      holder: "y",
    });
    expect(core.holderOf(TASK)).toBe("y");
    expect(packetsTo(moved, "y", "task.assign")).toEqual([expect.objectContaining({ taskId: TASK, toBoot: 1 })]);
    // Repeated (the assign was lost): confirmed again.
    expect(packetsTo(arrival(core, 60, "x"), "y", "task.assign")).toHaveLength(1);
  });

  it("from a stale move (its giver was declared dead and the task placed elsewhere): a cancel, never followed", () => {
    const { core, beat } = cluster();
    // x is cut off as it sends the offer: silent, declared dead, its task placed on z (y is full).
    core.onPacket(900, AT.y, { v: 1, type: "calc.heartbeat", from: "y", boot: 1, seq: 50, capacity: 3, running: 3 });
    beat(900, "z");
    const dead = core.onTick(HEARTBEAT_TIMEOUT_MS + 10);
    expect(dead.map((o) => o.kind)).toContain("calculator_dead");
    const holder = core.holderOf(TASK);
    expect(holder).toBe("z");
    // x is back in the same life and resends its offer; y takes it and announces it.
    const refused = arrival(core, 1_100, "x");
    expect(packetsTo(refused, "y", "task.assign")).toEqual([]);
    expect(packetsTo(refused, "y", "task.cancel")).toEqual([expect.objectContaining({ taskId: TASK, attempt: 2 })]);
    expect(refused).toContainEqual({ kind: "arrival_refused", taskId: TASK, calculatorId: "y", reason: "stale" });
    expect(core.holderOf(TASK)).toBe(holder);
    // The receiver drops what it held and runs nothing.
    const y = receiverY();
    y.acceptIncoming(1_090, [MOVED], "x");
    const [cancel] = packetsTo(refused, "y", "task.cancel");
    const answer = y.onPacket(1_101, DISPATCHER, cancel as Packet);
    expect(startedIn(answer)).toEqual([]);
    expect(y.arrivedCount).toBe(0);
  });

  it("for a task already answered: a cancel of every copy", () => {
    const { core } = cluster();
    core.onPacket(300, AT.x, { v: 1, type: "task.done", from: "x", taskId: TASK, attempt: 1, result: "b".repeat(64) });
    expect(core.holderOf(TASK)).toBeUndefined();
    const refused = arrival(core, 400, "x");
    expect(packetsTo(refused, "y", "task.cancel")).toEqual([
      { v: 1, type: "task.cancel", from: expect.any(String), taskId: TASK },
    ]);
    expect(refused).toContainEqual({ kind: "arrival_refused", taskId: TASK, calculatorId: "y", reason: "unknown" });
  });
});

describe("a move followed onto a calculator already dead", () => {
  function movedToDeadY(): { core: DispatcherCore; beat: (nowMs: number, name: Name) => DispatcherOutput[] } {
    const c = cluster();
    c.beat(900, "x");
    c.beat(900, "z");
    expect(c.core.onTick(HEARTBEAT_TIMEOUT_MS + 10).map((o) => o.kind)).toContain("calculator_dead"); // y
    expect(c.core.holderOf(TASK)).toBe("x");
    return c;
  }

  it("is a loss: the task waits for a claim, then is placed again (not left on the dead node until taskTimeoutMs)", () => {
    const { core } = movedToDeadY();
    const atMs = HEARTBEAT_TIMEOUT_MS + 20;
    const moved = core.onPacket(atMs, AT.x, {
      v: 1,
      type: "task.ack",
      from: "x",
      taskId: TASK,
      state: "moved",
      holder: "y",
    });
    expect(moved).toContainEqual({ kind: "task_replaced", taskId: TASK, calculatorId: "x", reason: "moved_to_dead" });
    expect(moved.filter((o) => o.kind === "task_moved" || o.kind === "copy_started")).toEqual([]);
    expect(core.holderOf(TASK)).toBeUndefined();
    const waitMs = HEARTBEAT_TIMEOUT_MS * CLAIM_HOLD_SHARE;
    expect(core.onTick(atMs + waitMs - 1).filter((o) => o.kind === "copy_started")).toEqual([]);
    const placed = core.onTick(atMs + waitMs);
    expect(placed.filter((o) => o.kind === "copy_started")).toHaveLength(1);
    expect(core.holderOf(TASK)).toBeDefined();
  });

  it("the node it went to, back in the same life, claims it during the wait and gets it", () => {
    const { core, beat } = movedToDeadY();
    const atMs = HEARTBEAT_TIMEOUT_MS + 20;
    core.onPacket(atMs, AT.x, { v: 1, type: "task.ack", from: "x", taskId: TASK, state: "moved", holder: "y" });
    beat(atMs + 50, "y");
    const claimed = arrival(core, atMs + 60, "x");
    expect(packetsTo(claimed, "y", "task.assign")).toHaveLength(1);
    expect(core.holderOf(TASK)).toBe("y");
  });
});
