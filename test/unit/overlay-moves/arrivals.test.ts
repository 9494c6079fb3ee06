/**
 * Goal: a receiver's claim on a moved task reaches the dispatcher even when its first arrival
 * announcement is lost (or dropped because the dispatcher does not know the receiver yet), so a giver
 * that dies right after committing the move does not make the dispatcher run the task a second time
 * elsewhere (overlay fault seeds 1247, 1713, 1731, 1943 before the fix: one announcement, lost).
 * Method: the calculator and dispatcher cores with plain packets and explicit nowMs; the lost packet
 * is simply not delivered.
 */
import { describe, expect, it } from "vitest";

import {
  ARRIVAL_RESEND_FIRST_MS,
  ARRIVAL_RESENDS_FAST,
  ARRIVAL_RESENDS_MAX,
  PendingArrivals,
} from "../../../src/calculator/arrivals.js";
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
const X = { host: "10.0.1.1", port: 7001 };
const Y = { host: "10.0.1.2", port: 7002 };
const Z = { host: "10.0.1.3", port: 7003 };
const TASK = "00000000-0000-4000-8000-00000000000a";
const MOVED = { taskId: TASK, input: "abc", rounds: 1 };

function sends(outputs: readonly (CalculatorOutput | DispatcherOutput)[]): Packet[] {
  return outputs.flatMap((o) => (o.kind === "send" ? [o.packet] : []));
}

function announcements(outputs: readonly CalculatorOutput[]): Packet[] {
  return sends(outputs).filter((p) => p.type === "task.ack" && p.state === "moved");
}

function receiverY(): CalculatorCore {
  const config = simCalculatorConfig("y", 1, DISPATCHER, { capacity: 1, queueMax: 4, heartbeatIntervalMs: 60_000 });
  return new CalculatorCore(config, seededRng(1), 0);
}

/** Ticks `calc` every 5 ms over [fromMs, toMs] and collects its announcements with their times. */
function announcedAt(calc: CalculatorCore, fromMs: number, toMs: number): number[] {
  const out: number[] = [];
  for (let t = fromMs; t <= toMs; t += 5) if (announcements(calc.onTick(t)).length > 0) out.push(t);
  return out;
}

describe("a receiver's arrival announcement", () => {
  it("is resent, fast at first, until the dispatcher speaks about the task (an assign), then never again", () => {
    const calc = receiverY();
    calc.onTick(0); // first heartbeat out of the way
    const taken = calc.acceptIncoming(0, [MOVED], "x");
    expect(announcements(taken.outputs)).toEqual([
      { v: 1, type: "task.ack", from: "y", taskId: TASK, state: "moved", holder: "y", giver: "x" },
    ]);
    // Lost: the receiver hears nothing, so it says it again every 50 ms.
    expect(announcedAt(calc, 5, 160)).toEqual([50, 100, 150]);
    // The dispatcher follows the move: its assign confirms; the receiver starts the task and stops.
    const answer = calc.onPacket(170, DISPATCHER, {
      v: 1,
      type: "task.assign",
      from: "dispatcher",
      taskId: TASK,
      attempt: 1,
      input: "abc",
      rounds: 1,
    });
    expect(answer.map((o) => o.kind)).toEqual(["task_started", "compute"]);
    expect(announcedAt(calc, 175, 10_000)).toEqual([]);
  });

  it("is given up after a bounded number of resends, backing off after the fast ones", () => {
    const pending = new PendingArrivals(2);
    pending.add(0, TASK);
    const at: number[] = [];
    for (let t = 0; t <= 60_000; t += 5) if (pending.due(t).length > 0) at.push(t);
    expect(at).toHaveLength(ARRIVAL_RESENDS_MAX);
    expect(at.slice(0, ARRIVAL_RESENDS_FAST)).toEqual(
      Array.from({ length: ARRIVAL_RESENDS_FAST }, (_, k) => (k + 1) * ARRIVAL_RESEND_FIRST_MS),
    );
    expect((at[ARRIVAL_RESENDS_FAST] as number) - (at[ARRIVAL_RESENDS_FAST - 1] as number)).toBe(
      2 * ARRIVAL_RESEND_FIRST_MS,
    );
    expect(pending.size).toBe(0);
    // Bounded: a third task evicts the oldest.
    pending.add(0, "t1");
    pending.add(0, "t2");
    pending.add(0, "t3");
    expect(pending.size).toBe(2);
  });

  it("stops, and the task is dropped, when the dispatcher refuses the move with a cancel", () => {
    const calc = receiverY();
    calc.onTick(0);
    calc.acceptIncoming(0, [MOVED], "x");
    const answer = calc.onPacket(10, DISPATCHER, {
      v: 1,
      type: "task.cancel",
      from: "dispatcher",
      taskId: TASK,
      attempt: 2,
    });
    expect(sends(answer)).toEqual([
      { v: 1, type: "task.ack", from: "y", taskId: TASK, state: "cancelled", attempt: 2 },
    ]);
    expect(calc.arrivedCount).toBe(0);
    expect(announcedAt(calc, 15, 5_000)).toEqual([]);
  });
});

describe("the dispatcher and a repeated announcement", () => {
  it("confirms a repeated announcement from the node it follows with an assign", () => {
    const core = new DispatcherCore(simDispatcherConfig({ heartbeatTimeoutMs: 60_000, evictAfterMs: 600_000 }));
    core.onPacket(0, X, { v: 1, type: "calc.heartbeat", from: "x", boot: 1, seq: 1, capacity: 3, running: 0 });
    core.onPacket(0, CLIENT, { v: 1, type: "task.submit", from: "c", taskId: TASK, input: "abc", rounds: 1 });
    core.onPacket(0, Y, { v: 1, type: "calc.heartbeat", from: "y", boot: 1, seq: 1, capacity: 3, running: 0 });
    core.onPacket(10, Y, { v: 1, type: "task.ack", from: "y", taskId: TASK, state: "moved", holder: "y" });
    core.onPacket(11, X, { v: 1, type: "task.ack", from: "x", taskId: TASK, state: "moved", holder: "y" });
    expect(core.holderOf(TASK)).toBe("y");
    const again = core.onPacket(60, Y, {
      v: 1,
      type: "task.ack",
      from: "y",
      taskId: TASK,
      state: "moved",
      holder: "y",
    });
    expect(again).toEqual([
      { kind: "send", to: Y, packet: expect.objectContaining({ type: "task.assign", taskId: TASK, toBoot: 1 }) },
    ]);
  });

  it("a giver that restarts right after committing: the resent claim makes the task go to the receiver, not a third node", () => {
    const core = new DispatcherCore(
      simDispatcherConfig({ taskTimeoutMs: 60_000, heartbeatTimeoutMs: 60_000, evictAfterMs: 600_000 }),
    );
    const beat = (
      nowMs: number,
      from: string,
      at: typeof X,
      boot: number,
      seq: number,
      running = 0,
    ): DispatcherOutput[] =>
      core.onPacket(nowMs, at, { v: 1, type: "calc.heartbeat", from, boot, seq, capacity: 3, running });
    beat(0, "x", X, 1, 1);
    core.onPacket(0, CLIENT, { v: 1, type: "task.submit", from: "c", taskId: TASK, input: "abc", rounds: 1 });
    expect(core.holderOf(TASK)).toBe("x");
    beat(0, "z", Z, 1, 1);
    // y takes the task from x in a move; its first announcement is dropped: y is not registered yet.
    const y = receiverY();
    y.onTick(0);
    const taken = y.acceptIncoming(5, [MOVED], "x");
    for (const packet of announcements(taken.outputs))
      expect(core.onPacket(6, Y, packet)).toEqual([
        { kind: "packet_dropped", reason: "unknown_calculator", type: "task.ack" },
      ]);
    beat(30, "y", Y, 1, 1, 2); // busier than z: placement alone would pick z
    // x committed the move and crashed; y's resend reaches the dispatcher before x's new life does.
    for (let t = 10; t <= 60; t += 5) for (const packet of announcements(y.onTick(t))) core.onPacket(t + 1, Y, packet);
    const restarted = beat(100, "x", X, 2, 1);
    const assigns = restarted.flatMap((o): unknown[] =>
      o.kind === "send" && o.packet.type === "task.assign" ? [o.to] : o.kind === "copy_started" ? [o.calculatorId] : [],
    );
    expect(assigns).toEqual(["y", Y]);
    expect(core.holderOf(TASK)).toBe("y");
  });
});

describe("a restarted overlay node's tasks wait a moment for a claim", () => {
  const HEARTBEAT_TIMEOUT_MS = 1_000;
  function cluster(): {
    core: DispatcherCore;
    beat: (nowMs: number, from: string, at: typeof X, boot: number) => void;
  } {
    const core = new DispatcherCore(
      simDispatcherConfig({ taskTimeoutMs: 60_000, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS, evictAfterMs: 600_000 }),
    );
    let seq = 0;
    const beat = (nowMs: number, from: string, at: typeof X, boot: number): void => {
      seq += 1;
      core.onPacket(nowMs, at, {
        v: 1,
        type: "calc.heartbeat",
        from,
        boot,
        seq,
        capacity: 3,
        running: 0,
        overlayRole: "node",
        overlaySlots: 1,
        overlayParents: [],
      });
    };
    beat(0, "x", X, 1);
    core.onPacket(0, CLIENT, { v: 1, type: "task.submit", from: "c", taskId: TASK, input: "abc", rounds: 1 });
    beat(0, "z", Z, 1);
    expect(core.holderOf(TASK)).toBe("x");
    return { core, beat };
  }

  it("a receiver registered only after the giver's restart still gets the task it holds (seed 3529 of an earlier plan)", () => {
    const { core, beat } = cluster();
    // x moved the task to y and restarted at once; y's claims were dropped: y was not registered yet.
    const restarted: DispatcherOutput[] = [];
    restarted.push(
      ...core.onPacket(100, X, {
        v: 1,
        type: "calc.heartbeat",
        from: "x",
        boot: 2,
        seq: 99,
        capacity: 3,
        running: 0,
        overlayRole: "node",
        overlaySlots: 1,
        overlayParents: [],
      }),
    );
    restarted.push(...core.onTick(100));
    expect(restarted.filter((o) => o.kind === "copy_started")).toEqual([]); // held, not placed on z
    beat(110, "y", Y, 1);
    const claimed = core.onPacket(140, Y, {
      v: 1,
      type: "task.ack",
      from: "y",
      taskId: TASK,
      state: "moved",
      holder: "y",
    });
    expect(claimed.filter((o) => o.kind === "copy_started")).toEqual([
      expect.objectContaining({ kind: "copy_started", taskId: TASK, calculatorId: "y" }),
    ]);
    expect(core.holderOf(TASK)).toBe("y");
  });

  it("without a claim the task is placed again once the wait is over", () => {
    const { core } = cluster();
    core.onPacket(100, X, {
      v: 1,
      type: "calc.heartbeat",
      from: "x",
      boot: 2,
      seq: 99,
      capacity: 3,
      running: 0,
      overlayRole: "node",
      overlaySlots: 1,
      overlayParents: [],
    });
    expect(core.onTick(100).filter((o) => o.kind === "copy_started")).toEqual([]);
    const waitMs = HEARTBEAT_TIMEOUT_MS * CLAIM_HOLD_SHARE;
    expect(core.nextDeadlineMs()).toBeLessThanOrEqual(100 + waitMs);
    expect(core.onTick(100 + waitMs - 1).filter((o) => o.kind === "copy_started")).toEqual([]);
    expect(core.onTick(100 + waitMs).filter((o) => o.kind === "copy_started")).toHaveLength(1);
  });
});
