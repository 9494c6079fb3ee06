/**
 * Goal: in overlay mode a calculator holds tasks in a bounded local queue, a move hands over only
 * queued (never running) tasks, the old holder points the dispatcher at the new one, and the
 * dispatcher follows a moved task instead of timing it out or running it twice.
 * Method: the calculator and dispatcher cores with plain values and explicit nowMs.
 */
import { describe, expect, it } from "vitest";

import { CalculatorCore } from "../../../src/calculator/core.js";
import type { CalculatorOutput } from "../../../src/calculator/types.js";
import { DispatcherCore } from "../../../src/dispatcher/core.js";
import type { DispatcherOutput } from "../../../src/dispatcher/types.js";
import type { Packet } from "../../../src/protocol/packet.js";
import { seededRng } from "../../../src/runtime/rng.js";
import { simCalculatorConfig, simDispatcherConfig } from "../../../src/sim/sim-configs.js";

const DISPATCHER = { host: "10.0.0.1", port: 5555 };
const CLIENT = { host: "10.0.2.1", port: 9000 };
const X = { host: "10.0.1.1", port: 7001 };
const Y = { host: "10.0.1.2", port: 7002 };
const ids = [
  "00000000-0000-4000-8000-00000000000a",
  "00000000-0000-4000-8000-00000000000b",
  "00000000-0000-4000-8000-00000000000c",
  "00000000-0000-4000-8000-00000000000d",
] as const;

function assign(taskId: string): Packet {
  return { v: 1, type: "task.assign", from: "dispatcher", taskId, attempt: 1, input: "abc", rounds: 1 };
}

function sends(outputs: readonly (CalculatorOutput | DispatcherOutput)[]): Packet[] {
  return outputs.flatMap((o) => (o.kind === "send" ? [o.packet] : []));
}

function overlayCalculator(nodeId: string): CalculatorCore {
  const config = simCalculatorConfig(nodeId, 1, DISPATCHER, {
    capacity: 1,
    queueMax: 2,
    computeMs: { min: 100, max: 100 },
  });
  return new CalculatorCore(config, seededRng(1), 0);
}

describe("calculator local queue", () => {
  it("runs `capacity`, queues up to queueMax with a `queued` receipt, then refuses with `busy`", () => {
    const calc = overlayCalculator("x");
    expect(calc.onPacket(0, DISPATCHER, assign(ids[0])).map((o) => o.kind)).toEqual(["task_started", "compute"]);
    expect(sends(calc.onPacket(0, DISPATCHER, assign(ids[1])))).toEqual([
      { v: 1, type: "task.ack", from: "x", taskId: ids[1], state: "queued" },
    ]);
    calc.onPacket(0, DISPATCHER, assign(ids[2]));
    expect(sends(calc.onPacket(0, DISPATCHER, assign(ids[3])))).toEqual([
      { v: 1, type: "task.ack", from: "x", taskId: ids[3], state: "busy" },
    ]);
    expect(calc.queuedTaskIds()).toEqual([ids[1], ids[2]]);
    const heartbeat = sends(calc.onTick(0)).find((p) => p.type === "calc.heartbeat");
    expect(heartbeat).toMatchObject({ capacity: 3, running: 3 });
  });

  it("starts the oldest queued task when a slot frees", () => {
    const calc = overlayCalculator("x");
    calc.onPacket(0, DISPATCHER, assign(ids[0]));
    calc.onPacket(0, DISPATCHER, assign(ids[1]));
    calc.onComputed(0, ids[0], "a".repeat(64));
    const outputs = calc.onTick(100);
    expect(outputs.filter((o) => o.kind === "task_started").map((o) => (o as { taskId: string }).taskId)).toEqual([
      ids[1],
    ]);
    expect(calc.queuedCount).toBe(0);
  });

  it("a move reserves only queued tasks, newest first; a reserved task is still answered for as queued", () => {
    const calc = overlayCalculator("x");
    calc.onPacket(0, DISPATCHER, assign(ids[0]));
    calc.onPacket(0, DISPATCHER, assign(ids[1]));
    calc.onPacket(0, DISPATCHER, assign(ids[2]));
    const reserved = calc.reserveQueued(5);
    expect(reserved).toEqual([
      { taskId: ids[1], input: "abc", rounds: 1 },
      { taskId: ids[2], input: "abc", rounds: 1 },
    ]);
    expect(calc.runningCount).toBe(1);
    // Until the receiver accepts, the dispatcher must not be pointed anywhere else.
    expect(sends(calc.onPacket(10, DISPATCHER, assign(ids[2])))).toEqual([
      { v: 1, type: "task.ack", from: "x", taskId: ids[2], state: "queued" },
    ]);
    calc.commitMoved(20, [ids[2]], "y");
    expect(sends(calc.onPacket(30, DISPATCHER, assign(ids[2])))).toEqual([
      { v: 1, type: "task.ack", from: "x", taskId: ids[2], state: "moved", holder: "y" },
    ]);
  });

  it("a refused move puts the tasks back, and starts one at once if a slot freed meanwhile", () => {
    const calc = overlayCalculator("x");
    calc.onPacket(0, DISPATCHER, assign(ids[0]));
    calc.onPacket(0, DISPATCHER, assign(ids[1]));
    calc.reserveQueued(1);
    calc.onComputed(0, ids[0], "a".repeat(64));
    const finished = calc.onTick(100);
    expect(finished.filter((o) => o.kind === "task_started")).toEqual([]); // reserved tasks never start
    const released = calc.releaseReserved(110, [ids[1]]);
    expect(released.filter((o) => o.kind === "task_started").map((o) => (o as { taskId: string }).taskId)).toEqual([
      ids[1],
    ]);
    expect(calc.reservedCount).toBe(0);
  });

  it("the receiving node accepts idempotently, tells the dispatcher it holds each task (and where from), holds them unstarted, and refuses beyond its queue", () => {
    const giver = overlayCalculator("x");
    giver.onPacket(0, DISPATCHER, assign(ids[0]));
    giver.onPacket(0, DISPATCHER, assign(ids[1]));
    giver.onPacket(0, DISPATCHER, assign(ids[2]));
    const receiver = overlayCalculator("y");
    receiver.onPacket(0, DISPATCHER, assign(ids[3]));
    const extra = { taskId: "00000000-0000-4000-8000-0000000000ee", input: "q", rounds: 1 };
    const offer = [...giver.reserveQueued(2), extra];
    const first = receiver.acceptIncoming(5, offer, "x");
    expect(first.accepted).toEqual([ids[1], ids[2]]);
    expect(first.refused).toEqual([extra.taskId]);
    expect(sends(first.outputs)).toEqual([
      { v: 1, type: "task.ack", from: "y", taskId: ids[1], state: "moved", holder: "y", giver: "x" },
      { v: 1, type: "task.ack", from: "y", taskId: ids[2], state: "moved", holder: "y", giver: "x" },
    ]);
    const again = receiver.acceptIncoming(6, offer.slice(0, 2), "x");
    expect(again.accepted).toEqual([ids[1], ids[2]]);
    expect(sends(again.outputs)).toEqual([]);
    // Held until the dispatcher confirms: neither queued (so never offered on) nor started.
    expect(receiver.queuedCount).toBe(0);
    expect(receiver.arrivedCount).toBe(2);
    const heartbeat = sends(receiver.onTick(7)).find((p) => p.type === "calc.heartbeat");
    expect(heartbeat).toMatchObject({ running: 3 });
  });
});

function dispatcherWithTwo(): DispatcherCore {
  const core = new DispatcherCore(
    simDispatcherConfig({ taskTimeoutMs: 1_000, heartbeatTimeoutMs: 60_000, evictAfterMs: 120_000 }),
  );
  core.onPacket(0, X, { v: 1, type: "calc.heartbeat", from: "x", boot: 1, seq: 1, capacity: 3, running: 0 });
  core.onPacket(0, Y, { v: 1, type: "calc.heartbeat", from: "y", boot: 1, seq: 1, capacity: 3, running: 0 });
  return core;
}

describe("dispatcher follows moved tasks", () => {
  it("an arrival announcement makes the dispatcher ask the holder, whose word moves the copy; probes and results follow it", () => {
    const core = dispatcherWithTwo();
    const placed = core.onPacket(0, CLIENT, {
      v: 1,
      type: "task.submit",
      from: "c",
      taskId: ids[0],
      input: "abc",
      rounds: 1,
    });
    const first = placed.find((o) => o.kind === "send") as { to: typeof X };
    const giver = first.to.port === X.port ? "x" : "y";
    const [receiver, receiverAt] = giver === "x" ? (["y", Y] as const) : (["x", X] as const);
    const giverAt = giver === "x" ? X : Y;
    const stale = core.onPacket(5, receiverAt, {
      v: 1,
      type: "task.ack",
      from: receiver,
      taskId: ids[0],
      state: "running",
    });
    expect(stale).toEqual([{ kind: "packet_dropped", reason: "not_assigned", type: "task.ack" }]);
    expect(core.holderOf(ids[0])).toBe(giver);
    const moved = core.onPacket(10, receiverAt, {
      v: 1,
      type: "task.ack",
      from: receiver,
      taskId: ids[0],
      state: "moved",
      holder: receiver,
    });
    // Only the node that held the task may move it (issue 12): the claim is answered by a probe to the holder.
    expect(moved).toEqual([
      { kind: "send", to: giverAt, packet: expect.objectContaining({ type: "task.assign", taskId: ids[0] }) },
    ]);
    expect(core.holderOf(ids[0])).toBe(giver);
    const confirmed = core.onPacket(11, giverAt, {
      v: 1,
      type: "task.ack",
      from: giver,
      taskId: ids[0],
      state: "moved",
      holder: receiver,
    });
    // The giver's word moves the copy, and the new holder gets the assign that lets it start the task.
    expect(confirmed).toEqual([
      { kind: "task_moved", taskId: ids[0], fromCalculatorId: giver, toCalculatorId: receiver },
      { kind: "send", to: receiverAt, packet: expect.objectContaining({ type: "task.assign", taskId: ids[0] }) },
    ]);
    expect(core.holderOf(ids[0])).toBe(receiver);
    const probes = sends(core.onTick(11 + simDispatcherConfig().probeIntervalMs)).filter(
      (p) => p.type === "task.assign",
    );
    expect(probes).toEqual([expect.objectContaining({ type: "task.assign", taskId: ids[0] })]);
    const done = core.onPacket(500, receiverAt, {
      v: 1,
      type: "task.done",
      from: receiver,
      taskId: ids[0],
      attempt: 1,
      result: "b".repeat(64),
    });
    expect(done.map((o) => o.kind).filter((kind) => kind !== "vote_recorded")).toEqual(["send", "task_completed"]);
  });

  it("a `moved` receipt from the old holder points the dispatcher at the new holder", () => {
    const core = dispatcherWithTwo();
    const placed = core.onPacket(0, CLIENT, {
      v: 1,
      type: "task.submit",
      from: "c",
      taskId: ids[1],
      input: "abc",
      rounds: 1,
    });
    const to = (placed.find((o) => o.kind === "send") as { to: typeof X }).to;
    const [giver, receiver] = to.port === X.port ? ["x", "y"] : ["y", "x"];
    const outputs = core.onPacket(20, to, {
      v: 1,
      type: "task.ack",
      from: giver,
      taskId: ids[1],
      state: "moved",
      holder: receiver,
    });
    expect(outputs).toEqual([
      { kind: "task_moved", taskId: ids[1], fromCalculatorId: giver, toCalculatorId: receiver },
      { kind: "send", to: to.port === X.port ? Y : X, packet: expect.objectContaining({ type: "task.assign" }) },
    ]);
  });

  it("a task waiting in its holder's queue is not re-placed at taskTimeoutMs while the holder keeps saying `queued`", () => {
    const core = dispatcherWithTwo();
    const placed = core.onPacket(0, CLIENT, {
      v: 1,
      type: "task.submit",
      from: "c",
      taskId: ids[2],
      input: "abc",
      rounds: 1,
    });
    const to = (placed.find((o) => o.kind === "send") as { to: typeof X }).to;
    const holder = to.port === X.port ? "x" : "y";
    core.onPacket(900, to, { v: 1, type: "task.ack", from: holder, taskId: ids[2], state: "queued" });
    expect(core.onTick(1_000).filter((o) => o.kind === "task_replaced")).toEqual([]);
    expect(core.onTick(1_900).filter((o) => o.kind === "task_replaced")).toEqual([
      { kind: "task_replaced", taskId: ids[2], calculatorId: holder, reason: "task_timeout" },
    ]);
  });
});
