/**
 * Goal: replicated execution exactly as SPEC 9 says: k copies on k distinct calculators; final at once
 * when q identical results are in, the other copies cancelled and their late results counted and
 * ignored; one vote per calculator (a repeated or forged result never counts twice); lost copies
 * re-placed only on calculators that never had the task; extra copies up to maxCopies when results
 * disagree; `no_quorum` when agreement is no longer possible.
 * Method: a DispatcherCore fed plain packets at explicit times; assertions on the complete set of
 * assigns, cancels, copy kinds and final answers each step produced.
 */
import { describe, expect, it } from "vitest";

import { CLIENT, CLIENT_MOVED, task } from "./fixtures.js";
import {
  assignedTo,
  cancelledAt,
  copyKinds,
  drops,
  endpointOf,
  failed,
  finals,
  type Name,
  RepHarness,
  result,
} from "./replication-fixtures.js";

const REPLICATED = { replication: { factor: 3, quorum: 2, maxCopies: 6, adaptive: false } };

function cluster(names: readonly Name[], overrides = {}): RepHarness {
  const h = new RepHarness({ ...REPLICATED, ...overrides });
  for (const name of names) h.beat(0, name);
  return h;
}

describe("quorum voting (k = 3, q = 2)", () => {
  it("starts k copies on k distinct calculators: one primary, two replicas", () => {
    const h = cluster(["a", "b", "c", "d"]);
    const outputs = h.submit(0, 1);
    expect(new Set(assignedTo(outputs)).size).toBe(3);
    expect(copyKinds(outputs)).toEqual(["primary", "replica", "replica"]);
    expect(h.core.holdersOf(task(1))).toHaveLength(3);
  });

  it("is final at the second identical result, cancels the third copy, and ignores its late result", () => {
    const h = cluster(["a", "b", "c"]);
    h.submit(0, 1);
    expect(finals(h.done(10, "a", 1))).toEqual([]);
    const second = h.done(20, "b", 1);
    expect(finals(second)).toEqual([
      { v: 1, type: "task.result", from: "disp-1", taskId: task(1), result: result(1), attempts: 3 },
    ]);
    expect(cancelledAt(second)).toEqual(["c"]);
    expect(h.core.registry.get("calc-c")?.assigned.size).toBe(0);
    expect(drops(h.done(30, "c", 1))).toEqual(["late_result"]);
    expect(h.core.copiesStarted()).toEqual({ primary: 1, replica: 2, hedge: 0, replacement: 0 });
  });

  it("a repeated or replayed result from one calculator never counts twice", () => {
    const h = cluster(["a", "b", "c"]);
    h.submit(0, 1);
    h.done(10, "a", 1);
    expect(drops(h.done(11, "a", 1))).toEqual(["duplicate_vote"]);
    expect(drops(h.done(12, "a", 1, "good", 7))).toEqual(["duplicate_vote"]);
    expect(h.core.taskState(12, task(1))).toBe("running");
    expect(finals(h.done(20, "c", 1))).toHaveLength(1);
  });

  it("drops results from a calculator never given the task, and from a forged source address", () => {
    const h = cluster(["a", "b", "c", "d"]);
    const holders = new Set(assignedTo(h.submit(0, 1)));
    const outsider = (["a", "b", "c", "d"] as const).find((name) => !holders.has(name)) as Name;
    expect(drops(h.done(10, outsider, 1))).toEqual(["not_assigned"]);
    const [first] = [...holders];
    const forged = h.core.onPacket(
      11,
      { host: "10.9.9.9", port: 1 },
      {
        v: 1,
        type: "task.done",
        from: `calc-${first}`,
        taskId: task(1),
        attempt: 1,
        result: result(1),
      },
    );
    expect(drops(forged)).toEqual(["unknown_calculator"]);
    expect(h.core.taskState(11, task(1))).toBe("running");
  });

  it("starts an extra copy on a new calculator when the results disagree, and outvotes the minority", () => {
    const h = cluster(["a", "b", "c", "d"]);
    const first = assignedTo(h.submit(0, 1));
    const spare = (["a", "b", "c", "d"] as const).find((name) => !first.includes(name)) as Name;
    const [x, y, z] = first as [Name, Name, Name];
    expect(assignedTo(h.done(10, x, 1, "good"))).toEqual([]);
    expect(assignedTo(h.done(11, y, 1, "bad-y"))).toEqual([]); // z may still agree with x
    const third = h.done(12, z, 1, "bad-z");
    expect(assignedTo(third)).toEqual([spare]);
    expect(copyKinds(third)).toEqual(["replica"]);
    const last = h.done(20, spare, 1, "good");
    expect(finals(last)).toEqual([
      { v: 1, type: "task.result", from: "disp-1", taskId: task(1), result: result(1), attempts: 4 },
    ]);
    const outvoted = last.flatMap((o) => (o.kind === "copy_outvoted" ? [o.calculatorId] : []));
    expect(outvoted.sort()).toEqual([`calc-${y}`, `calc-${z}`].sort());
  });

  it("fails `no_quorum` when maxCopies is spent without agreement", () => {
    const h = cluster(["a", "b", "c", "d"], { replication: { factor: 3, quorum: 2, maxCopies: 3, adaptive: false } });
    const [x, y, z] = assignedTo(h.submit(0, 1)) as [Name, Name, Name];
    h.done(10, x, 1, "v1");
    h.done(11, y, 1, "v2");
    const outputs = h.done(12, z, 1, "v3");
    expect(finals(outputs)).toEqual([failed(1, "no_quorum")]);
    expect(outputs).toContainEqual({ kind: "task_failed", taskId: task(1), reason: "no_quorum" });
  });

  it("fails `no_quorum` when every calculator has voted and none agree (2 of 3 corrupt)", () => {
    const h = cluster(["a", "b", "c"]);
    h.submit(0, 1);
    h.done(10, "a", 1, "good");
    h.done(11, "b", 1, "bad-b");
    expect(finals(h.done(12, "c", 1, "bad-c"))).toEqual([failed(1, "no_quorum")]);
  });

  it("does not wait for a copy it no longer needs: two agreeing of three is final even with one lost", () => {
    const h = cluster(["a", "b", "c"], { heartbeatTimeoutMs: 400, evictAfterMs: 4_000 });
    h.submit(0, 1);
    h.done(10, "a", 1);
    expect(finals(h.done(20, "b", 1))).toHaveLength(1);
  });
});

describe("re-placing lost copies (k = 2, q = 2)", () => {
  const PAIR = { replication: { factor: 2, quorum: 2, maxCopies: 6, adaptive: false } };

  it("a dead calculator's copy goes to a calculator that never had the task", () => {
    const h = new RepHarness({ ...PAIR, heartbeatTimeoutMs: 400, evictAfterMs: 4_000 });
    for (const name of ["a", "b", "c"] as const) h.beat(0, name);
    const holders = assignedTo(h.submit(0, 1));
    const [dying, staying] = holders as [Name, Name];
    const fresh = (["a", "b", "c"] as const).find((name) => !holders.includes(name)) as Name;
    for (const nowMs of [300, 600]) {
      h.beat(nowMs, staying, 1, 1);
      h.beat(nowMs, fresh);
    }
    h.done(650, staying, 1);
    const outputs = h.core.onTick(801); // `dying` silent for > 400 ms
    expect(outputs).toContainEqual({ kind: "calculator_dead", calculatorId: `calc-${dying}`, taskCount: 1 });
    expect(assignedTo(outputs)).toEqual([fresh]);
    expect(copyKinds(outputs)).toEqual(["replacement"]);
    expect(finals(h.done(900, fresh, 1))).toHaveLength(1);
  });

  it("a restarted calculator's copy goes to a calculator that never had the task", () => {
    const h = new RepHarness(PAIR);
    for (const name of ["a", "b", "c"] as const) h.beat(0, name);
    const holders = assignedTo(h.submit(0, 1));
    const [restarting] = holders as [Name];
    const fresh = (["a", "b", "c"] as const).find((name) => !holders.includes(name)) as Name;
    const outputs = h.core.onPacket(100, endpointOf(restarting), {
      v: 1,
      type: "calc.heartbeat",
      from: `calc-${restarting}`,
      boot: 2,
      seq: 1,
      capacity: 1,
      running: 0,
    });
    expect(outputs).toContainEqual({
      kind: "task_replaced",
      taskId: task(1),
      calculatorId: `calc-${restarting}`,
      reason: "calculator_restarted",
    });
    expect(assignedTo(outputs)).toEqual([fresh]);
  });

  it("a timed-out copy is replaced on a new calculator, and its late result still votes once", () => {
    const h = new RepHarness({ ...PAIR, taskTimeoutMs: 1_000 });
    for (const name of ["a", "b", "c"] as const) h.beat(0, name);
    const [slow, fast] = assignedTo(h.submit(0, 1)) as [Name, Name];
    const fresh = (["a", "b", "c"] as const).find((name) => name !== slow && name !== fast) as Name;
    h.done(100, fast, 1);
    // Only the slow copy is still out; it times out and goes to the calculator that never had it.
    const outputs = h.core.onTick(1_000);
    expect(outputs).toContainEqual({
      kind: "task_replaced",
      taskId: task(1),
      calculatorId: `calc-${slow}`,
      reason: "task_timeout",
    });
    expect(assignedTo(outputs)).toEqual([fresh]);
    const late = h.done(1_100, slow, 1);
    expect(finals(late)).toHaveLength(1); // the timed-out copy's result is a valid vote
    expect(cancelledAt(late)).toEqual([fresh]);
  });

  it("waits in the queue (not on a calculator that had the task) when no new calculator is free", () => {
    const h = new RepHarness({ ...PAIR, taskTimeoutMs: 1_000 });
    h.beat(0, "a", 2);
    h.beat(0, "b");
    h.beat(0, "c", 1, 1); // registered, but full
    const first = assignedTo(h.submit(0, 1));
    expect(first.sort()).toEqual(["a", "b"]);
    h.done(10, "b", 1);
    const outputs = h.core.onTick(1_000); // calc-a's copy times out; calc-a has a free slot but had the task
    expect(copyKinds(outputs)).toEqual([]); // no second copy on calc-a ...
    // ... but with nothing else out, its own copy is asked again (its result may have been lost).
    expect(outputs.filter((o) => o.kind === "send" && o.packet.type === "task.assign")).toEqual([
      {
        kind: "send",
        to: endpointOf("a"),
        packet: {
          v: 1,
          type: "task.assign",
          from: "disp-1",
          taskId: task(1),
          attempt: 1,
          input: "in-1",
          rounds: 3,
          toBoot: 1,
        },
      },
    ]);
    expect(h.core.counts().queued).toBe(1);
    expect(assignedTo(h.beat(1_010, "c"))).toEqual(["c"]);
  });

  it("forgets a lost copy whose calculator answers the repeated assign with `busy` (it no longer has it)", () => {
    const h = new RepHarness({ ...PAIR, taskTimeoutMs: 1_000 });
    h.beat(0, "a", 2);
    h.beat(0, "b");
    h.beat(0, "c", 1, 1); // registered, but full
    h.submit(0, 1);
    h.done(10, "b", 1);
    h.core.onTick(1_000); // calc-a's copy times out and is asked again
    h.calcAck(1_001, "a", 1, "busy");
    // calc-a never voted and no longer holds it: it may take a new copy now.
    const outputs = h.beat(1_002, "a", 2);
    expect(copyKinds(outputs)).toEqual(["replacement"]);
    expect(assignedTo(outputs)).toEqual(["a"]);
  });

  it("waits for a dead calculator to come back (its copy is revived and votes), and fails `no_quorum` once it is evicted", () => {
    const h = new RepHarness({ ...PAIR, heartbeatTimeoutMs: 400, evictAfterMs: 4_000, assignRetryMs: [100] });
    h.beat(0, "a");
    h.beat(0, "b");
    h.submit(0, 1);
    h.done(10, "b", 1);
    h.beat(300, "b");
    expect(finals(h.core.onTick(401))).toEqual([]); // calc-a dead, but it may come back with its copy
    const back = h.beat(1_000, "a");
    expect(back).toContainEqual({ kind: "calculator_recovered", calculatorId: "calc-a" });
    expect(assignedTo(back)).toEqual(["a"]); // the lost copy is live again: its assign is resent
    expect(finals(h.done(1_010, "a", 1))).toHaveLength(1);

    const gone = new RepHarness({ ...PAIR, heartbeatTimeoutMs: 400, evictAfterMs: 4_000 });
    gone.beat(0, "a");
    gone.beat(0, "b");
    gone.submit(0, 1);
    gone.done(10, "b", 1);
    for (let nowMs = 300; nowMs < 4_400; nowMs += 300) gone.beat(nowMs, "b");
    expect(finals(gone.core.onTick(401))).toEqual([]);
    expect(finals(gone.core.onTick(4_001))).toEqual([failed(1, "no_quorum")]); // calc-a evicted
  });

  it("keeps waiting for a timed-out copy that may still answer rather than failing", () => {
    const h = new RepHarness({ ...PAIR, taskTimeoutMs: 1_000 });
    h.beat(0, "a");
    h.beat(0, "b");
    h.submit(0, 1);
    h.done(10, "b", 1);
    expect(finals(h.core.onTick(1_000))).toEqual([]);
    expect(finals(h.done(1_500, "a", 1))).toHaveLength(1);
  });

  it("a busy refusal frees the calculator to get the copy again later (it never had it)", () => {
    const h = new RepHarness(PAIR);
    h.beat(0, "a");
    h.beat(0, "b");
    const [x] = assignedTo(h.submit(0, 1)) as [Name];
    const outputs = h.calcAck(10, x, 1, "busy");
    expect(outputs).toContainEqual({
      kind: "task_replaced",
      taskId: task(1),
      calculatorId: `calc-${x}`,
      reason: "busy",
    });
    expect(assignedTo(h.beat(20, x))).toEqual([x]);
  });
});

describe("cancellation by the client (task.cancel)", () => {
  it("ends the task with `cancelled`, cancels every copy, and answers repeats from the cache", () => {
    const h = cluster(["a", "b", "c"]);
    h.submit(0, 1);
    const outputs = h.cancel(10, 1);
    expect(finals(outputs)).toEqual([failed(1, "cancelled")]);
    expect(cancelledAt(outputs).sort()).toEqual(["a", "b", "c"]);
    expect(outputs).toContainEqual({ kind: "task_failed", taskId: task(1), reason: "cancelled" });
    expect(h.cancel(11, 1)).toEqual([{ kind: "send", to: CLIENT, packet: failed(1, "cancelled") }]);
    expect(h.submit(12, 1)).toEqual([{ kind: "send", to: CLIENT, packet: failed(1, "cancelled") }]);
    expect(drops(h.done(13, "a", 1))).toEqual(["late_result"]);
    expect(h.core.counts()).toMatchObject({ queued: 0, running: 0 });
  });

  it("answers a canceller at another address too, and the submitter at its own", () => {
    const h = cluster(["a", "b", "c"]);
    h.submit(0, 1);
    const outputs = h.cancel(10, 1, CLIENT_MOVED).filter((o) => o.kind === "send" && o.packet.type === "task.failed");
    expect(outputs.map((o) => o.kind === "send" && o.to)).toEqual([CLIENT, CLIENT_MOVED]);
  });

  it("a cancel that overtakes its submit still ends the task `cancelled`, never run", () => {
    const h = cluster(["a", "b", "c"]);
    expect(finals(h.cancel(0, 1))).toEqual([failed(1, "cancelled")]);
    expect(h.submit(1, 1)).toEqual([{ kind: "send", to: CLIENT, packet: failed(1, "cancelled") }]);
  });

  it("a cancel after the result is answered with the result", () => {
    const h = cluster(["a", "b", "c"]);
    h.submit(0, 1);
    h.done(10, "a", 1);
    h.done(11, "b", 1);
    expect(finals(h.cancel(12, 1))).toEqual([
      { v: 1, type: "task.result", from: "disp-1", taskId: task(1), result: result(1), attempts: 3 },
    ]);
  });

  it("resends a calculator cancel until it answers `cancelled`, at most CANCEL_SENDS_MAX times", () => {
    const h = cluster(["a", "b", "c"], { assignRetryMs: [50] });
    h.submit(0, 1);
    for (const name of ["a", "b", "c"] as const) h.calcAck(1, name, 1, "running");
    h.cancel(10, 1);
    expect(h.calcAck(20, "a", 1, "cancelled")).toEqual([]);
    const resent: string[] = [];
    for (let nowMs = 11; nowMs <= 1_000; nowMs += 1) resent.push(...cancelledAt(h.core.onTick(nowMs)));
    expect(resent.filter((name) => name === "a")).toEqual([]);
    expect(resent.filter((name) => name === "b")).toHaveLength(3); // 4 sends in all
    expect(resent.filter((name) => name === "c")).toHaveLength(3);
  });
});

describe("k = 1 stays plain execution", () => {
  it("one copy, first result final, no votes needed", () => {
    const h = new RepHarness();
    h.beat(0, "a");
    h.beat(0, "b");
    const outputs = h.submit(0, 1);
    expect(copyKinds(outputs)).toEqual(["primary"]);
    const [x] = assignedTo(outputs) as [Name];
    expect(finals(h.done(5, x, 1, "anything"))).toHaveLength(1);
  });
});
