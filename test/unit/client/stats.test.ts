/**
 * Goal: the client statistics are exactly SPEC 4: the field set and names of `--stats-json`,
 * `received = succeeded + failed`, `unanswered = sent − received`, wrong results counted in `failed`
 * (and in `wrong`), duplicates counted apart, latency summarised from the hdr histogram, and the
 * printed table shows every field.
 * Method: feed a StatsRecorder plain TaskRecords; latencies below 2.048 ms are exact in an hdr
 * histogram with 3 significant digits, so the summary can be asserted to the microsecond.
 */
import { describe, expect, it } from "vitest";

import { formatStatsTable, StatsRecorder } from "../../../src/client/stats.js";
import type { TaskRecord } from "../../../src/client/types.js";

/** When the recorded tasks were first sent (ms); without a warm-up it only has to be a time. */
const SENT_MS = 100_000;

let nextId = 0;
function record(outcome: TaskRecord["outcome"], latencyMs: number | null, reason: string | null = null): TaskRecord {
  nextId += 1;
  return {
    id: `00000000-0000-4000-8000-${String(nextId).padStart(12, "0")}`,
    outcome,
    input: "x",
    rounds: 1,
    result: outcome === "unanswered" ? null : "a".repeat(64),
    latencyMs,
    reason,
  };
}

/** sent 6: ok 0.5 / 1.0 / 1.5 ms, failed overloaded 2.0 ms, wrong 1.0 ms, one unanswered; 2 duplicates. */
function mixedRun(): StatsRecorder {
  const stats = new StatsRecorder();
  for (let i = 0; i < 6; i += 1) stats.onSent();
  stats.onEnded(record("ok", 0.5), SENT_MS);
  stats.onEnded(record("ok", 1), SENT_MS);
  stats.onEnded(record("ok", 1.5), SENT_MS);
  stats.onEnded(record("failed", 2, "overloaded"), SENT_MS);
  stats.onEnded(record("failed", 1, "wrong_result"), SENT_MS);
  stats.onEnded(record("unanswered", null), SENT_MS);
  stats.onDuplicate();
  stats.onDuplicate();
  return stats;
}

describe("StatsRecorder.snapshot", () => {
  it("has exactly the SPEC 4 fields, all zero before anything happened", () => {
    expect(new StatsRecorder().snapshot(0)).toEqual({
      sent: 0,
      received: 0,
      succeeded: 0,
      failed: 0,
      unanswered: 0,
      wrong: 0,
      duplicates: 0,
      durationS: 0,
      latencyMs: { min: 0, mean: 0, max: 0, p50: 0, p90: 0, p99: 0, p999: 0 },
    });
  });

  it("received = succeeded + failed, unanswered = sent − received, wrong counted in failed", () => {
    const snapshot = mixedRun().snapshot(12.34567);
    expect(snapshot).toEqual({
      sent: 6,
      received: 5,
      succeeded: 3,
      failed: 2,
      unanswered: 1,
      wrong: 1,
      duplicates: 2,
      durationS: 12.346,
      latencyMs: { min: 0.5, mean: 1.2, max: 2, p50: 1, p90: 2, p99: 2, p999: 2 },
    });
    expect(Object.keys(snapshot)).toEqual([
      "sent",
      "received",
      "succeeded",
      "failed",
      "unanswered",
      "wrong",
      "duplicates",
      "durationS",
      "latencyMs",
    ]);
    expect(Object.keys(snapshot.latencyMs)).toEqual(["min", "mean", "max", "p50", "p90", "p99", "p999"]);
  });

  it("counts failures by reason, wrong_result included", () => {
    const stats = mixedRun();
    expect([...stats.failureReasons]).toEqual([
      ["overloaded", 1],
      ["wrong_result", 1],
    ]);
  });

  it("unanswered records record no latency and are not received", () => {
    const stats = new StatsRecorder();
    stats.onSent();
    stats.onSent();
    stats.onEnded(record("unanswered", null), SENT_MS);
    stats.onEnded(record("unanswered", null), SENT_MS);
    expect(stats.snapshot(1)).toMatchObject({ sent: 2, received: 0, unanswered: 2, latencyMs: { max: 0 } });
  });

  it("summarises larger latencies from the hdr histogram within its 3-digit precision", () => {
    const stats = new StatsRecorder();
    const latenciesMs = Array.from({ length: 1_000 }, (_, i) => (i + 1) * 10); // 10 ms .. 10 s
    for (const latencyMs of latenciesMs) {
      stats.onSent();
      stats.onEnded(record("ok", latencyMs), SENT_MS);
    }
    const { latencyMs } = stats.snapshot(60);
    const near = (actual: number, expected: number): void =>
      expect(Math.abs(actual - expected) / expected).toBeLessThanOrEqual(0.001);
    near(latencyMs.min, 10);
    near(latencyMs.max, 10_000);
    near(latencyMs.mean, 5_005);
    near(latencyMs.p50, 5_000);
    near(latencyMs.p90, 9_000);
    near(latencyMs.p99, 9_900);
    near(latencyMs.p999, 9_990);
  });
});

describe("latency warm-up (--warmup-s)", () => {
  it("leaves tasks first sent before latencyFromMs out of latency only; every count still includes them", () => {
    const stats = new StatsRecorder(1_000);
    for (let i = 0; i < 4; i += 1) stats.onSent();
    stats.onEnded(record("ok", 5), 985); // first sent at 985: warm-up
    stats.onEnded(record("ok", 0.25), 999.95); // warm-up
    stats.onEnded(record("ok", 0.5), 1_000); // counted: the boundary belongs to the run
    stats.onEnded(record("failed", 1.5, "overloaded"), 1_998.5); // counted
    expect(stats.snapshot(2)).toMatchObject({
      sent: 4,
      received: 4,
      succeeded: 3,
      failed: 1,
      latencyMs: { min: 0.5, max: 1.5, mean: 1 },
    });
  });

  it("says in the table which tasks the latency covers, and says nothing without a warm-up", () => {
    const stats = mixedRun();
    expect(formatStatsTable(stats.snapshot(2.5), stats.failureReasons, 1.5)).toMatch(
      /latency of +tasks sent after the first 1\.5 s \(warm-up\)/,
    );
    expect(formatStatsTable(stats.snapshot(2.5), stats.failureReasons)).not.toMatch(/warm-up/);
  });
});

describe("formatStatsTable", () => {
  it("contains every field with its value, the failure reasons and every latency figure", () => {
    const stats = mixedRun();
    const table = formatStatsTable(stats.snapshot(2.5), stats.failureReasons);
    const lines = table.split("\n");
    expect(lines[0]).toBe("statistics");
    const row = (name: string): string | undefined => lines.find((line) => line.trim().startsWith(name));
    const cell = (name: string): string | undefined => row(name)?.trim().slice(name.length).trim();
    expect(cell("sent")).toBe("6");
    expect(cell("received")).toBe("5");
    expect(cell("succeeded")).toBe("3");
    expect(cell("failed ")).toBe("2");
    expect(cell("unanswered")).toBe("1");
    expect(cell("wrong")).toBe("1");
    expect(cell("duplicates")).toBe("2");
    expect(cell("duration")).toBe("2.5 s");
    expect(cell("throughput")).toBe("2.0 tasks/s");
    expect(cell("failed: overloaded")).toBe("1");
    expect(cell("failed: wrong_result")).toBe("1");
    expect(cell("latency min")).toBe("0.5 ms");
    expect(cell("latency mean")).toBe("1.2 ms");
    expect(cell("latency p50")).toBe("1.0 ms");
    expect(cell("latency p90")).toBe("2.0 ms");
    expect(cell("latency p99 ")).toBe("2.0 ms");
    expect(cell("latency p99.9")).toBe("2.0 ms");
    expect(cell("latency max")).toBe("2.0 ms");
  });

  it("shows zero throughput for a zero duration instead of dividing by zero", () => {
    expect(formatStatsTable(new StatsRecorder().snapshot(0))).toMatch(/throughput\s+0\.0 tasks\/s/);
  });

  it("shows what the cluster survived: the client's resends and re-placed answers, the dispatcher's outages", () => {
    const stats = mixedRun().snapshot(2.5);
    const survived = {
      resentCount: 3,
      replacedSeenCount: 2,
      dispatcher: { address: "127.0.0.1:5555", outageCount: 2, replacedCount: 4, ageS: 0.2 },
    };
    const table = formatStatsTable(stats, undefined, 0, survived);
    expect(table).toMatch(/^ {2}resends +3 \(submits sent again before the dispatcher acknowledged them\)$/m);
    expect(table).toMatch(/^ {2}re-placed tasks +2 \(answers that needed more than one copy\)$/m);
    expect(table).toMatch(/^ {2}calculator outages +2 \(declared dead by the dispatcher 127\.0\.0\.1:5555\)$/m);
    expect(table).toMatch(/^ {2}re-placed copies +4 \(taken from a calculator and placed again\)$/m);
    const silent = formatStatsTable(stats, undefined, 0, { ...survived, dispatcher: { address: "127.0.0.1:5555" } });
    expect(silent).toMatch(/^ {2}dispatcher 127\.0\.0\.1:5555 +did not say \(no answer to admin\.status\)$/m);
    expect(silent).not.toContain("calculator outages");
    const old = formatStatsTable(stats, undefined, 0, {
      ...survived,
      dispatcher: { ...survived.dispatcher, ageS: 12 },
    });
    expect(old).toMatch(/calculator outages +2 .*\(12 s old\)$/m);
    expect(formatStatsTable(stats)).not.toContain("resends"); // only when asked
  });
});
