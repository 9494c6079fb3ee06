/**
 * Goal: the admin plane's pure parts say what happened: /status rows and states, the activity history
 * and its bounds, and metrics that follow the core (a forgotten calculator takes its series with it,
 * submitted = answered + queued + running, failures by reason), and the overlay as a tree of nodes
 * with slots, running and queued tasks and parents, from the nodes' heartbeats.
 * Method: a real DispatcherCore driven with plain packets and times; outputs fed to the admin plane as
 * the shell would; a scrape of the prom-client registry parsed line by line.
 */
import { describe, expect, it } from "vitest";

import { ActivityLog, RECENT_FAILURES_MAX } from "../../../src/admin/activity.js";
import { DispatcherMetrics } from "../../../src/admin/metrics.js";
import { buildStatus, type StatusSource } from "../../../src/admin/status.js";
import { DispatcherCore } from "../../../src/dispatcher/core.js";
import type { DispatcherOutput } from "../../../src/dispatcher/types.js";
import { PARENTS_MAX } from "../../../src/overlay/tree.js";
import { OVERLAY_PARENTS_MAX } from "../../../src/protocol/packets.js";
import { CALC, CLIENT, done, heartbeatPacket, submit, task, testConfig } from "../dispatcher/fixtures.js";

function plane(core: DispatcherCore): {
  source: StatusSource;
  metrics: DispatcherMetrics;
  feed: (nowMs: number, outputs: DispatcherOutput[]) => void;
} {
  const activity = new ActivityLog();
  let nowMs = 0;
  const source: StatusSource = {
    core,
    nodeId: "disp-1",
    version: "0.0.0",
    startedMs: 0,
    activity,
  };
  const rejected = new Map([["not_json", 2]]);
  const metrics = new DispatcherMetrics(
    source,
    { datagramsReceived: () => 7, datagramsSent: () => 5, rejected: () => rejected },
    () => nowMs,
  );
  const feed = (at: number, outputs: DispatcherOutput[]): void => {
    nowMs = at;
    for (const output of outputs) {
      if (output.kind === "send") continue;
      activity.observe(at, output);
      metrics.observe(output);
    }
  };
  return { source, metrics, feed };
}

function value(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("admin plane", () => {
  it("counts tasks and failures as the core answers them, and a forgotten calculator loses its series", async () => {
    const core = new DispatcherCore(testConfig({ queueTimeoutMs: 1_000 }));
    const { source, metrics, feed } = plane(core);
    feed(0, core.onPacket(0, CALC.a, heartbeatPacket("a", 1)));
    feed(1, core.onPacket(1, CLIENT, submit(1)));
    feed(2, core.onPacket(2, CLIENT, submit(2))); // capacity 1: task 2 waits
    let text = await metrics.registry.metrics();
    expect(value(text, "udp_cluster_tasks_submitted_total")).toBe(2);
    expect(value(text, "udp_cluster_queue_depth")).toBe(1);
    expect(value(text, 'udp_cluster_calculator_running_tasks{calculator="calc-a"}')).toBe(1);
    feed(100, core.onPacket(100, CALC.a, heartbeatPacket("a", 2, { running: 1 })));
    feed(150, core.onPacket(150, CALC.a, done("a", 1, 1)));
    feed(1_200, core.onTick(1_200)); // task 2 outlives the queue timeout; calc-a is dead by now
    text = await metrics.registry.metrics();
    expect(value(text, 'udp_cluster_tasks_completed_total{outcome="ok"}')).toBe(1);
    expect(value(text, 'udp_cluster_tasks_completed_total{outcome="failed"}')).toBe(1);
    expect(value(text, 'udp_cluster_task_failures_total{reason="timeout"}')).toBe(1);
    expect(value(text, "udp_cluster_tasks_submitted_total")).toBe(2);
    expect(value(text, 'udp_cluster_calculators{state="dead"}')).toBe(1);
    expect(value(text, 'udp_cluster_datagrams_dropped_total{reason="not_json"}')).toBe(2);
    expect(value(text, "udp_cluster_datagrams_received_total")).toBe(7);
    const status = buildStatus(1_200, source);
    expect(status.tasks).toEqual({ queued: 0, running: 0, succeeded: 1, failed: 1 });
    expect(status.calculators).toEqual([
      expect.objectContaining({ id: "calc-a", address: "10.0.0.1:7001", state: "dead", lastSeenMs: 1_050 }),
    ]);
    expect(status.calculators[0]?.latencyMs).toBe(149);
    feed(5_000, core.onTick(5_000)); // past evictAfterMs: forgotten
    text = await metrics.registry.metrics();
    expect(text).not.toContain('calculator="calc-a"');
    expect(buildStatus(5_000, source).calculators).toEqual([]);
  });

  it("marks a calculator silent over half the heartbeat timeout suspect", () => {
    const core = new DispatcherCore(testConfig());
    const { source } = plane(core);
    core.onPacket(0, CALC.b, heartbeatPacket("b", 1, { capacity: 3 }));
    expect(buildStatus(100, source).calculators[0]?.state).toBe("alive");
    expect(buildStatus(300, source).calculators[0]?.state).toBe("suspect");
    expect(buildStatus(300, source).calculators[0]?.capacity).toBe(3);
  });

  it("keeps per-second history and at most RECENT_FAILURES_MAX failures, newest first", () => {
    const activity = new ActivityLog();
    for (let i = 0; i < RECENT_FAILURES_MAX + 5; i += 1) {
      activity.observe(i * 10, { kind: "task_failed", taskId: task(i), reason: "timeout" });
    }
    activity.observe(2_500, {
      kind: "task_completed",
      taskId: task(99),
      calculatorId: "c",
      latencyMs: 40,
      attempts: 1,
    });
    activity.observe(2_600, {
      kind: "task_completed",
      taskId: task(98),
      calculatorId: "c",
      latencyMs: 60,
      attempts: 1,
    });
    const failures = activity.recentFailures();
    expect(failures).toHaveLength(RECENT_FAILURES_MAX);
    expect(failures[0]?.taskId).toBe(task(RECENT_FAILURES_MAX + 4));
    const history = activity.history(3_000, 4);
    expect(history.map((s) => s.atMs)).toEqual([0, 1_000, 2_000, 3_000]);
    expect(history.map((s) => s.failed)).toEqual([RECENT_FAILURES_MAX + 5, 0, 0, 0]);
    expect(history[2]).toMatchObject({ succeeded: 2, latencySumMs: 100, latencyMaxMs: 60 });
  });

  it("shows the overlay as nodes with parents, slots, running and queued tasks, from their heartbeats", () => {
    const core = new DispatcherCore(testConfig());
    const { source } = plane(core);
    const node = (name: "a" | "b", seq: number, running: number, extra: object) => ({
      ...heartbeatPacket(name, seq, { capacity: 503, running }),
      ...extra,
    });
    core.onPacket(0, CALC.a, node("a", 1, 1, { overlayRole: "root", overlaySlots: 2, overlayParents: [] }));
    core.onPacket(0, CALC.b, node("b", 1, 5, { overlayRole: "node", overlaySlots: 3, overlayParents: ["calc-a"] }));
    core.onPacket(0, CALC.c, heartbeatPacket("c", 1)); // a plain calculator is no overlay node
    expect(buildStatus(10, source).overlay).toEqual({
      root: "calc-a",
      nodes: [
        { id: "calc-a", role: "root", parents: [], slots: 2, running: 1, queued: 0, state: "alive" },
        { id: "calc-b", role: "node", parents: ["calc-a"], slots: 3, running: 3, queued: 2, state: "alive" },
      ],
    });
    expect(OVERLAY_PARENTS_MAX).toBe(PARENTS_MAX); // the wire carries any topology's parents
  });
});
