/**
 * Goal: two rules the checked simulation's hedged/adaptive/cancel scenario found missing. (1) A task
 * that adaptive trust runs as one copy takes the first result (q = 1), so its hedge may go only to a
 * trusted calculator: never to an untrusted (here always-wrong) one, whose result would be final
 * unchecked. (2) A client's cancel frees its copies' slots at once, so a queued task is placed then,
 * not at some later tick (the core must never act before its own nextDeadlineMs).
 * Method: a DispatcherCore (RepHarness) on a manual clock; trust earned by answering every copy; then
 * the trusted calculators are kept busy with single-copy tasks and a hedge is due.
 */
import { describe, expect, it } from "vitest";

import type { DispatcherOutput } from "../../../src/dispatcher/types.js";
import { assignedTo, copyKinds, finals, type Name, RepHarness } from "./replication-fixtures.js";

const HEDGING = { enabled: true, quantile: 0.9, minDelayMs: 5, budget: 1 };

describe("hedges of trust-reduced tasks, and cancels that free slots", () => {
  it("never hedges a task running as one trusted copy on an untrusted calculator", () => {
    const h = new RepHarness({
      replication: { factor: 3, quorum: 2, maxCopies: 6, adaptive: true, trustRunMin: 2 },
      hedging: HEDGING,
      taskTimeoutMs: 100_000,
    });
    for (const name of ["a", "b", "c", "d"] as const) h.beat(0, name, 1);
    let nowMs = 1;
    let n = 0;
    const held = new Map<Name, number>(); // single-copy tasks left running, by calculator
    const hedgedOn: Name[] = [];
    const watch = (outputs: DispatcherOutput[]): DispatcherOutput[] => {
      const kinds = copyKinds(outputs);
      assignedTo(outputs).forEach((name, i) => {
        if (kinds[i] === "hedge") hedgedOn.push(name);
      });
      return outputs;
    };
    while (held.size < 3 && n < 200) {
      n += 1;
      const started = assignedTo(watch(h.submit(nowMs, n)));
      if (started.length === 1 && started[0] !== "d" && n > 40) {
        held.set(started[0] as Name, n);
        continue;
      }
      const toAnswer = [...started];
      let isFinal = false;
      while (!isFinal && toAnswer.length > 0) {
        const name = toAnswer.shift() as Name;
        nowMs += 1;
        const outputs = watch(h.done(nowMs, name, n, name === "d" ? "bad-d" : "good"));
        toAnswer.push(...assignedTo(outputs));
        isFinal = finals(outputs).length > 0;
      }
      nowMs += 1;
    }
    expect([...held.keys()].sort()).toEqual(["a", "b", "c"]);
    // Only d has a free slot, and its results are always wrong: the due hedges must not go there.
    for (let t = nowMs; t <= nowMs + 200; t += 1) watch(h.core.onTick(t));
    expect(hedgedOn.filter((name) => name === "d")).toEqual([]);
  });

  it("a client's cancel places a queued task in the same step", () => {
    const h = new RepHarness({ taskTimeoutMs: 100_000 });
    h.beat(0, "a", 1);
    expect(assignedTo(h.submit(1, 1))).toEqual(["a"]);
    expect(assignedTo(h.submit(2, 2))).toEqual([]); // queued: a is full
    const outputs = h.cancel(3, 1);
    expect(finals(outputs).map((packet) => packet.type)).toEqual(["task.failed"]);
    expect(assignedTo(outputs)).toEqual(["a"]);
  });
});
