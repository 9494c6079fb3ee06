/**
 * Goal: adaptive replication (SPEC 9) saves copies without letting a wrong answer through: a calculator
 * earns trust by TRUST_RUN_MIN results in a row that agreed with quorum, a task whose primary lands on a
 * trusted calculator runs as one copy (except every SPOT_CHECK_EVERY-th, a spot check), and one
 * outvoted result resets trust. In a cluster with one always-wrong calculator, copies per task are
 * fewer with adaptive on than off, and no wrong result is ever final.
 * Method: a DispatcherCore driven task by task: every assign is answered in order (the corrupt
 * calculator with its own wrong digest) until the final answer; copies counted by kind.
 */
import { describe, expect, it } from "vitest";
import { SPOT_CHECK_EVERY, TRUST_RUN_MIN } from "../../../src/dispatcher/trust.js";
import type { DispatcherOutput } from "../../../src/dispatcher/types.js";
import { task } from "./fixtures.js";
import { assignedTo, copyKinds, finals, type Name, RepHarness, result } from "./replication-fixtures.js";

const CALCS: readonly Name[] = ["a", "b", "c", "d"];

/** Runs `count` tasks one after another; calc-d (if `corrupt`) always answers wrong. */
function run(adaptive: boolean, count: number, corrupt: Name | undefined = "d") {
  const h = new RepHarness({ replication: { factor: 3, quorum: 2, maxCopies: 6, adaptive } });
  for (const name of CALCS) h.beat(0, name);
  let nowMs = 1;
  let wrongCount = 0;
  let failedCount = 0;
  const kindsPerTask: string[][] = [];
  for (let n = 1; n <= count; n += 1) {
    const toAnswer: Name[] = [];
    const kinds: string[] = [];
    const take = (outputs: DispatcherOutput[]): boolean => {
      toAnswer.push(...assignedTo(outputs));
      kinds.push(...copyKinds(outputs));
      const [answer] = finals(outputs);
      if (answer?.type === "task.result" && answer.result !== result(n)) wrongCount += 1;
      if (answer?.type === "task.failed") failedCount += 1;
      return answer !== undefined;
    };
    let isFinal = take(h.submit(nowMs++, n));
    while (!isFinal && toAnswer.length > 0) {
      const name = toAnswer.shift() as Name;
      isFinal = take(h.done(nowMs++, name, n, name === corrupt ? `bad-${name}` : "good"));
    }
    expect(isFinal).toBe(true);
    kindsPerTask.push(kinds);
  }
  const copies = kindsPerTask.reduce((sum, kinds) => sum + kinds.length, 0);
  return { h, wrongCount, failedCount, copiesPerTask: copies / count, kindsPerTask };
}

describe("adaptive replication", () => {
  it("with adaptive off every task runs at least k copies", () => {
    const off = run(false, 60);
    expect(off.wrongCount).toBe(0);
    expect(off.failedCount).toBe(0);
    expect(off.kindsPerTask.every((kinds) => kinds.length >= 3)).toBe(true);
  });

  it("with adaptive on, trusted primaries run alone: fewer copies per task, still 0 wrong", () => {
    const off = run(false, 60);
    const on = run(true, 60);
    expect(on.wrongCount).toBe(0);
    expect(on.failedCount).toBe(0);
    const singles = on.kindsPerTask.filter((kinds) => kinds.length === 1);
    expect(singles.length).toBeGreaterThan(10);
    expect(on.copiesPerTask).toBeLessThan(off.copiesPerTask * 0.8);
    // The always-wrong calculator never earns trust.
    expect(on.h.core.trustRunOf("calc-d")).toBe(0);
  });

  it("no task runs alone before its primary has TRUST_RUN_MIN agreeing results, and spot checks keep replicating", () => {
    const on = run(true, 60, undefined);
    const firstSingle = on.kindsPerTask.findIndex((kinds) => kinds.length === 1);
    // Each task credits at most 2 calculators (the two that made quorum): 4 calculators need
    // at least TRUST_RUN_MIN / 2 tasks before any has a run of TRUST_RUN_MIN.
    expect(firstSingle).toBeGreaterThanOrEqual(TRUST_RUN_MIN / 2);
    const afterTrust = on.kindsPerTask.slice(firstSingle);
    const replicated = afterTrust.filter((kinds) => kinds.length >= 3).length;
    expect(replicated).toBeGreaterThanOrEqual(Math.floor(afterTrust.length / (SPOT_CHECK_EVERY + 1)));
  });

  it("one outvoted result resets a trusted calculator's trust", () => {
    const h = new RepHarness({ replication: { factor: 3, quorum: 2, maxCopies: 6, adaptive: true, trustRunMin: 1 } });
    for (const name of ["a", "b", "c"] as const) h.beat(0, name);
    h.submit(1, 1);
    h.done(2, "a", 1);
    h.done(3, "b", 1);
    expect(h.core.trustRunOf("calc-a")).toBe(1);
    // Task 2's primary (calc-a, trusted) runs alone; task 3's (calc-b, trusted) too; task 4's primary is
    // calc-c (assigned longest ago, untrusted), so it is replicated, and calc-a answers wrong there.
    expect(copyKinds(h.submit(4, 2))).toEqual(["primary"]);
    h.done(5, "a", 2);
    expect(copyKinds(h.submit(6, 3))).toEqual(["primary"]);
    h.done(7, "b", 3);
    expect(copyKinds(h.submit(8, 4))).toEqual(["primary", "replica", "replica"]);
    h.done(9, "a", 4, "bad");
    h.done(10, "b", 4);
    const outputs = h.done(11, "c", 4);
    expect(finals(outputs)).toEqual([
      { v: 1, type: "task.result", from: "disp-1", taskId: task(4), result: result(4), attempts: 3 },
    ]);
    expect(outputs).toContainEqual({ kind: "copy_outvoted", taskId: task(4), calculatorId: "calc-a" });
    expect(h.core.trustRunOf("calc-a")).toBe(0);
    expect(h.core.trustRunOf("calc-b")).toBe(2);
  });
});
