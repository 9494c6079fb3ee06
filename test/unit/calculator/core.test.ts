/**
 * Goal: the calculator core behaves exactly as SPEC 3 and 5 describe: it heartbeats at start and
 * every heartbeatIntervalMs with an increasing seq and its running count; refuses beyond capacity
 * with `busy`; answers a repeated assign with `running` while it runs and with the cached `task.done`
 * after (no second computation); sends done only once the digest has arrived and computeMs has
 * elapsed; owes a `running` receipt only when not done within ackDelayMs; in an outage it drops
 * packets and stays silent, then returns with the same nodeId and boot and a higher seq and sends
 * what finished; corruption 1 always, 0 never, yields a wrong digest; computeMs {0,0} answers at once.
 * Method: a CalculatorCore with a constant rng (so every draw is known), plain packets and explicit
 * nowMs; each step asserts the complete output list.
 */
import { describe, expect, it } from "vitest";

import { CalculatorCore, corruptDigest } from "../../../src/calculator/core.js";
import type { CalculatorCoreConfig, CalculatorOutput } from "../../../src/calculator/types.js";
import type { TaskAssign } from "../../../src/protocol/packets.js";
import { simCalculatorConfig } from "../../../src/sim/sim-configs.js";
import type { Endpoint } from "../../../src/transport/transport.js";

const DISPATCHER: Endpoint = { host: "10.0.0.10", port: 5555 };
const DISPATCHER_MOVED: Endpoint = { host: "10.0.0.11", port: 5556 };
const BOOT = 1_700_000_000_000;
const DIGEST = "ab".repeat(32);

const task = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

function config(overrides: Partial<CalculatorCoreConfig> = {}): CalculatorCoreConfig {
  return simCalculatorConfig("calc-1", BOOT, DISPATCHER, {
    capacity: 2,
    computeMs: { min: 100, max: 100 },
    heartbeatIntervalMs: 10_000,
    ackDelayMs: 40,
    ...overrides,
  });
}

/** A core whose start-up heartbeat (at t=0) has already been taken. rng is constant: every draw is `draw`. */
function started(overrides: Partial<CalculatorCoreConfig> = {}, draw = 0.5): CalculatorCore {
  const core = new CalculatorCore(config(overrides), () => draw, 0);
  expect(core.onTick(0)).toEqual([heartbeat(1, 0)]);
  return core;
}

function assign(n: number, attempt = 1): TaskAssign {
  return { v: 1, type: "task.assign", from: "disp-1", taskId: task(n), attempt, input: `in-${n}`, rounds: 2 };
}

function heartbeat(seq: number, running: number, capacity = 2): CalculatorOutput {
  return {
    kind: "send",
    to: DISPATCHER,
    packet: { v: 1, type: "calc.heartbeat", from: "calc-1", boot: BOOT, seq, capacity, running },
  };
}

function doneTo(to: Endpoint, n: number, attempt = 1, result = DIGEST): CalculatorOutput {
  return { kind: "send", to, packet: { v: 1, type: "task.done", from: "calc-1", taskId: task(n), attempt, result } };
}

function ackTo(to: Endpoint, n: number, state: "running" | "busy"): CalculatorOutput {
  return { kind: "send", to, packet: { v: 1, type: "task.ack", from: "calc-1", taskId: task(n), state } };
}

function startedOutputs(n: number, computeMs = 100): CalculatorOutput[] {
  return [
    { kind: "task_started", taskId: task(n), computeMs },
    { kind: "compute", taskId: task(n), input: `in-${n}`, rounds: 2 },
  ];
}

function finished(n: number, to: Endpoint = DISPATCHER, isCorrupt = false, result = DIGEST): CalculatorOutput[] {
  return [{ kind: "task_finished", taskId: task(n), isCorrupt }, doneTo(to, n, 1, result)];
}

function tickEachMs(core: CalculatorCore, fromMs: number, toMs: number): { atMs: number; output: CalculatorOutput }[] {
  const timeline: { atMs: number; output: CalculatorOutput }[] = [];
  for (let nowMs = fromMs; nowMs <= toMs; nowMs += 1) {
    for (const output of core.onTick(nowMs)) timeline.push({ atMs: nowMs, output });
  }
  return timeline;
}

describe("CalculatorCore: heartbeats", () => {
  it("heartbeats at start and every heartbeatIntervalMs, seq increasing, with the running count", () => {
    const core = new CalculatorCore(config({ heartbeatIntervalMs: 100, ackDelayMs: 10_000 }), () => 0.5, 1_000);
    expect(core.onTick(999)).toEqual([]);
    expect(core.onTick(1_000)).toEqual([heartbeat(1, 0)]);
    expect(core.onPacket(1_050, DISPATCHER, assign(1))).toEqual(startedOutputs(1));
    expect(tickEachMs(core, 1_001, 1_250)).toEqual([
      { atMs: 1_100, output: heartbeat(2, 1) },
      { atMs: 1_200, output: heartbeat(3, 1) },
    ]);
    expect(core.onComputed(1_251, task(1), DIGEST)).toEqual(finished(1));
    expect(tickEachMs(core, 1_251, 1_300)).toEqual([{ atMs: 1_300, output: heartbeat(4, 0) }]);
  });
});

describe("CalculatorCore: assigns", () => {
  it("accepts up to capacity and refuses beyond it with a busy ack to the sender", () => {
    const core = started();
    expect(core.onPacket(1, DISPATCHER, assign(1))).toEqual(startedOutputs(1));
    expect(core.onPacket(2, DISPATCHER, assign(2))).toEqual(startedOutputs(2));
    expect(core.onPacket(3, DISPATCHER_MOVED, assign(3))).toEqual([ackTo(DISPATCHER_MOVED, 3, "busy")]);
    expect(core.runningCount).toBe(2);
  });

  it("answers a repeated assign while running with a running ack, replying to the newest address", () => {
    const core = started();
    core.onPacket(0, DISPATCHER, assign(1));
    expect(core.onPacket(10, DISPATCHER_MOVED, assign(1, 2))).toEqual([ackTo(DISPATCHER_MOVED, 1, "running")]);
    expect(core.runningCount).toBe(1);
    core.onComputed(20, task(1), DIGEST);
    // The immediate ack replaced the delayed one; the done goes to the newest address.
    expect(tickEachMs(core, 1, 100)).toEqual([
      { atMs: 100, output: finished(1, DISPATCHER_MOVED)[0] },
      { atMs: 100, output: finished(1, DISPATCHER_MOVED)[1] },
    ]);
  });

  it("answers a repeated assign after done with the cached done, without computing again", () => {
    const core = started({ computeMs: { min: 0, max: 0 } });
    core.onPacket(0, DISPATCHER, assign(1));
    expect(core.onComputed(0, task(1), DIGEST)).toEqual(finished(1));
    expect(core.onPacket(500, DISPATCHER_MOVED, assign(1, 3))).toEqual([doneTo(DISPATCHER_MOVED, 1, 1)]);
    expect(core.onPacket(501, DISPATCHER, assign(1, 3))).toEqual([doneTo(DISPATCHER, 1, 1)]);
    expect(core.completedCount).toBe(1);
    expect(core.runningCount).toBe(0);
  });

  it("drops anything but an assign", () => {
    const core = started();
    const ack = { v: 1, type: "task.ack", from: "disp-1", taskId: task(1), state: "queued" } as const;
    expect(core.onPacket(1, DISPATCHER, ack)).toEqual([
      { kind: "packet_dropped", reason: "unexpected_type", type: "task.ack" },
    ]);
  });
});

describe("CalculatorCore: when the done is sent", () => {
  it("digest early: done exactly when computeMs has elapsed", () => {
    const core = started({ ackDelayMs: 10_000 });
    core.onPacket(0, DISPATCHER, assign(1));
    expect(core.onComputed(10, task(1), DIGEST)).toEqual([]);
    expect(tickEachMs(core, 1, 99)).toEqual([]);
    expect(core.onTick(100)).toEqual(finished(1));
    expect(tickEachMs(core, 101, 300)).toEqual([]);
  });

  it("digest late: done in the onComputed call, once computeMs is over", () => {
    const core = started({ ackDelayMs: 10_000 });
    core.onPacket(0, DISPATCHER, assign(1));
    expect(tickEachMs(core, 1, 149)).toEqual([]);
    expect(core.onComputed(150, task(1), DIGEST)).toEqual(finished(1));
    expect(core.onComputed(151, task(1), DIGEST)).toEqual([]); // a second digest is ignored
    expect(tickEachMs(core, 151, 300)).toEqual([]);
  });

  it("computeMs {0,0} answers in the same onComputed call", () => {
    const core = started({ computeMs: { min: 0, max: 0 } });
    expect(core.onPacket(7, DISPATCHER, assign(1))).toEqual(startedOutputs(1, 0));
    expect(core.onComputed(7, task(1), DIGEST)).toEqual(finished(1));
  });

  it("computeMs is drawn from its range by the rng", () => {
    const core = started({ computeMs: { min: 100, max: 300 } }, 0.25);
    expect(core.onPacket(0, DISPATCHER, assign(1))[0]).toEqual({
      kind: "task_started",
      taskId: task(1),
      computeMs: 150,
    });
  });
});

describe("CalculatorCore: delayed running receipt", () => {
  it("no running ack when done within ackDelayMs", () => {
    const core = started({ computeMs: { min: 20, max: 20 }, ackDelayMs: 40 });
    core.onPacket(0, DISPATCHER, assign(1));
    core.onComputed(5, task(1), DIGEST);
    expect(tickEachMs(core, 1, 200)).toEqual(finished(1).map((output) => ({ atMs: 20, output })));
  });

  it("one running ack exactly at ackDelayMs when not done by then", () => {
    const core = started({ computeMs: { min: 100, max: 100 }, ackDelayMs: 40 });
    core.onPacket(0, DISPATCHER, assign(1));
    expect(tickEachMs(core, 1, 99)).toEqual([{ atMs: 40, output: ackTo(DISPATCHER, 1, "running") }]);
  });
});

describe("CalculatorCore: outages", () => {
  it("drops packets and heartbeats nothing in an outage, then returns with the same identity and sends what finished", () => {
    const core = started({ heartbeatIntervalMs: 100, ackDelayMs: 10_000 });
    core.onPacket(10, DISPATCHER, assign(1));
    expect(tickEachMs(core, 1, 49)).toEqual([]);
    core.startOutage(50, 450);
    expect(core.isInOutage).toBe(true);
    expect(core.onPacket(60, DISPATCHER, assign(2))).toEqual([
      { kind: "packet_dropped", reason: "outage", type: "task.assign" },
    ]);
    expect(core.onComputed(70, task(1), DIGEST)).toEqual([]); // ready at 110, but silent until 500
    expect(tickEachMs(core, 50, 499)).toEqual([]);
    expect(core.onTick(500)).toEqual([{ kind: "outage_ended" }, heartbeat(2, 1), ...finished(1)]);
    expect(core.isInOutage).toBe(false);
    expect(tickEachMs(core, 501, 600)).toEqual([{ atMs: 600, output: heartbeat(3, 0) }]);
  });

  it("with failure probability 1 an outage starts at each check and lasts durationMs", () => {
    const core = started({
      failure: { probability: 1, checkIntervalMs: 1_000, durationMs: { min: 300, max: 300 } },
    });
    expect(tickEachMs(core, 1, 999)).toEqual([]);
    expect(core.onTick(1_000)).toEqual([{ kind: "outage_started", durationMs: 300 }]);
    expect(tickEachMs(core, 1_001, 1_299)).toEqual([]);
    expect(core.onTick(1_300)).toEqual([{ kind: "outage_ended" }, heartbeat(2, 0)]);
    expect(tickEachMs(core, 1_301, 1_999)).toEqual([]);
    expect(core.onTick(2_000)).toEqual([{ kind: "outage_started", durationMs: 300 }]);
  });

  it("with failure probability 0 no outage ever starts", () => {
    const core = started({ failure: { probability: 0, checkIntervalMs: 100, durationMs: { min: 1, max: 1 } } });
    expect(tickEachMs(core, 1, 5_000).filter(({ output }) => output.kind !== "send")).toEqual([]);
    expect(core.isInOutage).toBe(false);
  });
});

describe("CalculatorCore: corruption", () => {
  it("probability 1 always sends corruptDigest(digest, its id)", () => {
    const core = started({ computeMs: { min: 0, max: 0 }, corruption: { probability: 1 } });
    core.onPacket(0, DISPATCHER, assign(1));
    expect(core.onComputed(0, task(1), DIGEST)).toEqual(finished(1, DISPATCHER, true, corruptDigest(DIGEST, "calc-1")));
  });

  it("probability 0 always sends the digest unchanged", () => {
    const core = started({ computeMs: { min: 0, max: 0 }, corruption: { probability: 0 } }, 0);
    core.onPacket(0, DISPATCHER, assign(1));
    expect(core.onComputed(0, task(1), DIGEST)).toEqual(finished(1));
  });

  it("corruptDigest is wrong, well-formed, and differs per calculator (two corrupt ones never agree)", () => {
    const ids = Array.from({ length: 200 }, (_, i) => `calc-${i}`);
    for (const digest of [DIGEST, "0".repeat(64), "f".repeat(64)]) {
      const wrong = ids.map((id) => corruptDigest(digest, id));
      for (const value of wrong) {
        expect(value).not.toBe(digest);
        expect(value).toMatch(/^[0-9a-f]{64}$/);
        expect(value.slice(8)).toBe(digest.slice(8));
      }
      expect(new Set(wrong).size).toBe(ids.length);
      expect(corruptDigest(digest, "calc-7")).toBe(corruptDigest(digest, "calc-7")); // deterministic
    }
  });
});
