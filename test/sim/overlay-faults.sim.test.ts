/**
 * Goal: at most one execution per task across overlay moves, node deaths and restarts (SPEC 5.8,
 * docs/OVERLAY.md "Invariants"): under loss and duplication on every link, nodes killed and restarted
 * (a new incarnation) while rounds move tasks, and a subtree cut off the network for a while, every
 * task is answered exactly once with the right result, no task ever runs on two nodes (or two lives
 * of one node) at the same time, and a computed result is never computed again unless its node was
 * killed or cut off before the result could reach the dispatcher (overlay-invariants.ts), and no live node
 * is left holding a moved task unconfirmed (stranded) at the end.
 * Method: runOverlayDaemonSim (real daemon shells, seeded MemoryNetwork, ManualClock) with a fault plan
 * drawn from the seed; executions per task are read from every node's log lines (start to finish,
 * cancel or death, per node and life) and checked pairwise. SEEDS seeds per run (OVERLAY_FAULT_SEEDS,
 * from OVERLAY_FAULT_SEED); any failing seed replays exactly. The planted overlay bugs
 * (test/sim/planted/O*.patch) each fail some of these seeds.
 */
import { describe, expect, it } from "vitest";

import { type OverlaySimReport, runOverlayDaemonSim } from "./overlay-daemons-harness.js";
import { faultPlan, FAULT_TASK_COUNT as TASK_COUNT } from "./overlay-fault-plan.js";
import { overlappingExecutions, recomputedResults } from "./overlay-invariants.js";

/** Seeds per CI run (the issue asks for at least 200 overlay-daemon seeds; more catch the planted bugs with margin). */
const SEEDS = Number(process.env["OVERLAY_FAULT_SEEDS"] ?? 400);
const FIRST_SEED = Number(process.env["OVERLAY_FAULT_SEED"] ?? 1_000);

describe("overlay daemons under kills, restarts, a partition, loss and duplication", () => {
  const seeds = Array.from({ length: SEEDS }, (_, k) => FIRST_SEED + k);
  it(`${SEEDS} seeds from ${FIRST_SEED}: every task answered once, never two executions at once`, async () => {
    const failures: string[] = [];
    let movedRounds = 0;
    let executionCount = 0;
    for (const seed of seeds) {
      let report: OverlaySimReport;
      try {
        report = await runOverlayDaemonSim(faultPlan(seed));
      } catch (error) {
        // A daemon threw (an assertion tripped): the seed fails and says what threw.
        failures.push(`seed ${seed}: threw ${String(error)}`);
        continue;
      }
      const problems: string[] = [];
      if (!report.isFinished) problems.push("client not finished");
      if (report.records.length !== TASK_COUNT) problems.push(`${report.records.length} answers`);
      if (report.records.some((r) => r.outcome !== "ok")) problems.push("an answer is not ok");
      problems.push(...overlappingExecutions(report.executions));
      problems.push(...recomputedResults(report.lines, report.executions));
      problems.push(...report.strandedArrivals);
      for (const list of report.executions.values()) executionCount += list.length;
      if (problems.length > 0) failures.push(`seed ${seed}: ${problems.slice(0, 3).join("; ")}`);
      if (report.lines.some((l) => l.msg === "moved tasks taken" && Number(l["acceptedCount"]) > 0)) movedRounds += 1;
    }
    expect(failures).toEqual([]);
    // The faults must hit moves: most seeds moved tasks (a receiver took some).
    expect(movedRounds).toBeGreaterThan(SEEDS / 2);
    // Executions were seen on the nodes (the checks above ran on something): at least one per task.
    expect(executionCount).toBeGreaterThanOrEqual(SEEDS * TASK_COUNT);
  }, 600_000);
});
