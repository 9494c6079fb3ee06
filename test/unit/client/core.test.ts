/**
 * Goal: the client core behaves exactly as SPEC 2 and 4 describe: open loop sends at random intervals
 * within intervalMs; closed loop keeps exactly `concurrency` outstanding; --count stops at N and says
 * `finished` once after the last answer; durationMs stops sending; a submit is resent on the
 * submitRetryMs table, then every keepaliveMs after a receipt; requestTimeoutMs ends a task
 * `unanswered` (null latency); a wrong digest is `failed`/`wrong_result`; `task.failed` keeps its
 * reason; a second answer is a `duplicate_answer` and never a second record; abandonAll ends all.
 * Method: a ClientCore with a scripted or seeded rng, sequential task ids, a stub verifier, plain
 * packets and explicit nowMs; complete output lists at exact ms.
 */
import { describe, expect, it } from "vitest";

import { ClientCore } from "../../../src/client/core.js";
import type { ClientCoreConfig, ClientOutput, TaskRecord } from "../../../src/client/types.js";
import type { Packet } from "../../../src/protocol/packet.js";
import { type Rng, seededRng } from "../../../src/runtime/rng.js";
import { simClientConfig } from "../../../src/sim/sim-configs.js";
import type { Endpoint } from "../../../src/transport/transport.js";

const DISPATCHER: Endpoint = { host: "10.0.0.10", port: 5555 };
const RIGHT = "a".repeat(64);
const WRONG = "b".repeat(64);
const task = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

/** Draws `values` in order, then 0.5 forever. */
function scriptedRng(values: readonly number[]): Rng {
  let index = 0;
  return () => values[index++] ?? 0.5;
}

function client(overrides: Partial<ClientCoreConfig> = {}, rng: Rng = scriptedRng([])): ClientCore {
  let next = 0;
  return new ClientCore(
    simClientConfig(DISPATCHER, {
      clientId: "client-1",
      intervalMs: { min: 10, max: 10 },
      inputChars: 0,
      rounds: 2,
      countMax: undefined,
      submitRetryMs: [100_000],
      keepaliveMs: 100_000,
      requestTimeoutMs: 60_000,
      ...overrides,
    }),
    { rng, newTaskId: () => task(++next), verify: (_input, _rounds, result) => result === RIGHT },
    0,
  );
}

function submitSend(n: number): ClientOutput {
  return {
    kind: "send",
    to: DISPATCHER,
    packet: { v: 1, type: "task.submit", from: "client-1", taskId: task(n), input: "", rounds: 2 },
  };
}

const sent = (n: number): ClientOutput[] => [{ kind: "task_sent", taskId: task(n) }, submitSend(n)];
const result = (n: number, digest = RIGHT): Packet => ({
  v: 1,
  type: "task.result",
  from: "disp-1",
  taskId: task(n),
  result: digest,
  attempts: 1,
});
const failed = (n: number, reason: string): Packet => ({
  v: 1,
  type: "task.failed",
  from: "disp-1",
  taskId: task(n),
  reason,
});
const receipt = (n: number): Packet => ({ v: 1, type: "task.ack", from: "disp-1", taskId: task(n), state: "queued" });

function ended(record: Partial<TaskRecord> & { id: string }, isWrong = false, firstSentMs?: number): ClientOutput {
  return {
    kind: "task_ended",
    record: { outcome: "ok", input: "", rounds: 2, result: null, latencyMs: null, reason: null, ...record },
    isWrong,
    firstSentMs: firstSentMs ?? expect.any(Number),
  };
}

function tickEachMs(core: ClientCore, fromMs: number, toMs: number): { atMs: number; output: ClientOutput }[] {
  const timeline: { atMs: number; output: ClientOutput }[] = [];
  for (let nowMs = fromMs; nowMs <= toMs; nowMs += 1) {
    for (const output of core.onTick(nowMs)) timeline.push({ atMs: nowMs, output });
  }
  return timeline;
}

const sentTimes = (timeline: { atMs: number; output: ClientOutput }[]): number[] =>
  timeline.filter(({ output }) => output.kind === "task_sent").map(({ atMs }) => atMs);

describe("ClientCore: sending", () => {
  it("open loop: sends at once, then after each interval drawn from intervalMs", () => {
    // Draws 0, 0.5, 0.25, 0.9 over [100, 300]: intervals 100, 200, 150, 280.
    const core = client({ intervalMs: { min: 100, max: 300 } }, scriptedRng([0, 0.5, 0.25, 0.9]));
    const timeline = tickEachMs(core, 0, 829);
    expect(sentTimes(timeline)).toEqual([0, 100, 300, 450, 730]);
    expect(timeline.slice(0, 2).map(({ output }) => output)).toEqual(sent(1));
  });

  it("open loop: every gap lies within intervalMs for a seeded rng", () => {
    const core = client({ intervalMs: { min: 100, max: 300 } }, seededRng(99));
    const times = sentTimes(tickEachMs(core, 0, 20_000));
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    expect(gaps.length).toBeGreaterThan(60);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(300);
    expect(new Set(gaps).size).toBeGreaterThan(10); // really random, not a fixed period
  });

  it("closed loop: keeps exactly `concurrency` tasks outstanding", () => {
    const core = client({ concurrency: 3 });
    // Whether the window refills in onPacket or in the next onTick, both at the same ms, is not
    // the contract; what is sent at that ms, and the window after it, is.
    const answerAndTick = (nowMs: number, packets: Packet[]): ClientOutput[] => [
      ...packets.flatMap((packet) => core.onPacket(nowMs, DISPATCHER, packet)),
      ...core.onTick(nowMs),
    ];
    expect(core.onTick(0)).toEqual([...sent(1), ...sent(2), ...sent(3)]);
    expect(core.onTick(1)).toEqual([]);
    expect(answerAndTick(5, [result(2)])).toEqual([
      ended({ id: task(2), outcome: "ok", result: RIGHT, latencyMs: 5 }),
      ...sent(4),
    ]);
    expect(core.pendingCount).toBe(3);
    expect(answerAndTick(7, [result(1), failed(3, "overloaded")]).filter((o) => o.kind !== "task_ended")).toEqual([
      ...sent(5),
      ...sent(6),
    ]);
    expect(core.pendingCount).toBe(3);
    expect(core.sentCount).toBe(6);
    expect(core.onTick(8)).toEqual([]);
  });

  it("--count stops at N and says finished once, after the last answer", () => {
    const core = client({ countMax: 2 });
    expect(sentTimes(tickEachMs(core, 0, 39))).toEqual([0, 10]);
    core.onPacket(25, DISPATCHER, result(1));
    expect(tickEachMs(core, 40, 49)).toEqual([]);
    expect(core.isSending).toBe(false);
    core.onPacket(50, DISPATCHER, result(2));
    expect(core.onTick(50)).toEqual([{ kind: "finished" }]);
    expect(tickEachMs(core, 51, 500)).toEqual([]);
    expect(core.sentCount).toBe(2);
  });

  it("closed loop with --count sends exactly N", () => {
    const core = client({ concurrency: 4, countMax: 3 });
    expect(core.onTick(0)).toEqual([...sent(1), ...sent(2), ...sent(3)]);
    for (const n of [1, 2, 3]) expect(core.onPacket(1, DISPATCHER, result(n))).toHaveLength(1);
    expect(core.onTick(2)).toEqual([{ kind: "finished" }]);
    expect(core.sentCount).toBe(3);
  });

  it("durationMs stops sending; finished follows once the outstanding tasks are answered", () => {
    const core = client({ intervalMs: { min: 100, max: 100 }, durationMs: 250 });
    expect(sentTimes(tickEachMs(core, 0, 1_000))).toEqual([0, 100, 200]);
    expect(core.isSending).toBe(false);
    for (const n of [1, 2, 3]) core.onPacket(1_001, DISPATCHER, result(n));
    expect(core.onTick(1_001)).toEqual([{ kind: "finished" }]);
  });
});

describe("ClientCore: retransmission and timeouts", () => {
  it("resends on the submitRetryMs table, then every keepaliveMs after a receipt", () => {
    const core = client({ countMax: 1, submitRetryMs: [80, 160, 320], keepaliveMs: 600 });
    expect(core.onTick(0)).toEqual(sent(1));
    const resends = (fromMs: number, toMs: number): number[] =>
      tickEachMs(core, fromMs, toMs).map(({ atMs, output }) => {
        expect(output).toEqual(submitSend(1));
        return atMs;
      });
    expect(resends(1, 299)).toEqual([80, 240]);
    expect(core.onPacket(300, DISPATCHER, receipt(1))).toEqual([]);
    expect(resends(300, 1_600)).toEqual([900, 1_500]);
    expect(core.onPacket(1_600, DISPATCHER, receipt(1))).toEqual([]); // a second receipt changes nothing
    expect(resends(1_601, 2_100)).toEqual([2_100]);
    // SPEC 4 "resends": the two before the receipt; the three after it are keepalives.
    expect(core.resentCount).toBe(2);
  });

  it("counts answers that needed more than one copy (attempts > 1) as re-placed", () => {
    const core = client({ countMax: 3 });
    core.onTick(0);
    core.onTick(10);
    core.onTick(20);
    core.onPacket(30, DISPATCHER, result(1));
    core.onPacket(30, DISPATCHER, { ...(result(2) as object), attempts: 3 } as Packet);
    core.onPacket(30, DISPATCHER, { ...(result(3, WRONG) as object), attempts: 2 } as Packet); // wrong: not counted
    expect(core.replacedSeenCount).toBe(1);
    expect(core.resentCount).toBe(0);
  });

  it("without a receipt the last retry delay repeats", () => {
    const core = client({ countMax: 1, submitRetryMs: [80, 160, 320] });
    core.onTick(0);
    expect(sentTimes(tickEachMs(core, 1, 1_300))).toEqual([]);
    const core2 = client({ countMax: 1, submitRetryMs: [80, 160, 320] });
    core2.onTick(0);
    expect(tickEachMs(core2, 1, 1_300).map(({ atMs }) => atMs)).toEqual([80, 240, 560, 880, 1_200]);
  });

  it("ends a task unanswered with null latency exactly at requestTimeoutMs", () => {
    const core = client({ countMax: 1, requestTimeoutMs: 5_000 });
    core.onTick(0);
    expect(tickEachMs(core, 1, 4_999)).toEqual([]);
    expect(core.onTick(5_000)).toEqual([ended({ id: task(1), outcome: "unanswered" }), { kind: "finished" }]);
    expect(core.pendingCount).toBe(0);
  });

  it("abandonAll ends every outstanding task unanswered and stops sending", () => {
    const core = client(); // open loop, one task every 10 ms
    expect(sentTimes(tickEachMs(core, 0, 25))).toEqual([0, 10, 20]);
    core.onPacket(25, DISPATCHER, result(2));
    expect(core.abandonAll(26)).toEqual([
      ended({ id: task(1), outcome: "unanswered" }),
      ended({ id: task(3), outcome: "unanswered" }),
    ]);
    expect(core.isSending).toBe(false);
    expect(core.pendingCount).toBe(0);
    expect(core.onTick(30)).toEqual([{ kind: "finished" }]);
    expect(core.abandonAll(31)).toEqual([]);
  });
});

describe("ClientCore: answers", () => {
  it("a verified result ends ok with its latency from the first send, and says when that was", () => {
    const core = client({ countMax: 1 });
    core.onTick(7);
    expect(core.onPacket(19.3456, DISPATCHER, result(1))).toEqual([
      ended({ id: task(1), outcome: "ok", result: RIGHT, latencyMs: 12.346 }, false, 7),
    ]);
  });

  it("a wrong digest ends failed with reason wrong_result and is flagged wrong", () => {
    const core = client({ countMax: 1 });
    core.onTick(0);
    expect(core.onPacket(40, DISPATCHER, result(1, WRONG))).toEqual([
      ended({ id: task(1), outcome: "failed", result: WRONG, latencyMs: 40, reason: "wrong_result" }, true),
    ]);
  });

  it("task.failed ends failed with the dispatcher's reason", () => {
    const core = client({ countMax: 1 });
    core.onTick(0);
    expect(core.onPacket(30, DISPATCHER, failed(1, "overloaded"))).toEqual([
      ended({ id: task(1), outcome: "failed", latencyMs: 30, reason: "overloaded" }),
    ]);
  });

  it("a second answer is a duplicate_answer, never a second record; an unknown id is ignored", () => {
    const core = client({ countMax: 1 });
    core.onTick(0);
    expect(core.onPacket(10, DISPATCHER, result(1))).toHaveLength(1);
    expect(core.onPacket(11, DISPATCHER, result(1))).toEqual([{ kind: "duplicate_answer", taskId: task(1) }]);
    expect(core.onPacket(12, DISPATCHER, failed(1, "timeout"))).toEqual([
      { kind: "duplicate_answer", taskId: task(1) },
    ]);
    expect(core.onPacket(13, DISPATCHER, result(99))).toEqual([]);
    expect(core.onPacket(14, DISPATCHER, receipt(1))).toEqual([]);
  });
});

describe("ClientCore: cancel", () => {
  const cancelSend: ClientOutput = {
    kind: "send",
    to: DISPATCHER,
    packet: { v: 1, type: "task.cancel", from: "client-1", taskId: task(1) },
  };

  it("sends task.cancel now and resends it instead of the submit until the final answer", () => {
    const c = client({ submitRetryMs: [100], countMax: 1 });
    c.onTick(0);
    expect(c.cancel(10, task(1))).toEqual([cancelSend]);
    expect(c.cancel(11, task(1))).toEqual([]); // already cancelling
    expect(c.onTick(110)).toEqual([cancelSend]);
    const ended = c.onPacket(120, DISPATCHER, {
      v: 1,
      type: "task.failed",
      from: "disp-1",
      taskId: task(1),
      reason: "cancelled",
    });
    expect(ended).toContainEqual(
      expect.objectContaining({
        kind: "task_ended",
        record: expect.objectContaining({ outcome: "failed", reason: "cancelled" }),
      }),
    );
    expect(c.onTick(500).filter((o) => o.kind === "send")).toEqual([]);
    expect(c.cancel(600, task(1))).toEqual([]);
  });
});
