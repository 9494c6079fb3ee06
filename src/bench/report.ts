/**
 * Turns benchmark runs into the console table and docs/BENCHMARKS.md: medians over repetitions,
 * ratios of the cluster to the anchor, the targets and whether they were met, machine facts, method,
 * how to reproduce and where the CPU time goes.
 */
import type { RunResult } from "./systems.js";

/** The median of one system at one window over every repetition. */
export interface Summary {
  readonly system: "cluster" | "anchor";
  readonly window: number;
  readonly runCount: number;
  readonly tasksPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly missing: number;
  readonly cpuUsPerTask: RunResult["cpuUsPerTask"];
  /** Every run's tasks/s, in run order (shows the noise). */
  readonly tasksPerSRuns: readonly number[];
}

/** Cluster relative to anchor at one window. */
export interface Comparison {
  readonly window: number;
  readonly cluster: Summary;
  readonly anchor: Summary;
  /** cluster tasks/s ÷ anchor tasks/s (higher is better). */
  readonly throughputRatio: number;
  /** cluster p99 ÷ anchor p99 (lower is better). */
  readonly p99Ratio: number;
}

/** Facts printed with the results so that numbers from different machines are not mixed up. */
export interface MachineFacts {
  readonly date: string;
  readonly cpuCount: number;
  readonly cpuModel: string;
  readonly nodeVersion: string;
  readonly platform: string;
}

/** Settings of the run, echoed in the report. */
export interface BenchSettings {
  readonly workerCount: number;
  readonly capacity: number;
  readonly windows: readonly number[];
  readonly repetitions: number;
  readonly warmupS: number;
  readonly windowWarmupS: number;
  /** Start of each measured run whose tasks count for throughput but not for latency (both systems). */
  readonly latencyWarmupS: number;
  readonly durationS: number;
}

/** Targets from the issue: window 64 throughput ≥ 0.6× anchor; window 1 p99 ≤ 2× anchor. */
export const THROUGHPUT_RATIO_MIN = 0.6;
export const P99_RATIO_MAX = 2;

/** The median of `values` (the mean of the middle two for an even count); 0 for none. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return 0;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Medians per (system, window). */
export function summarise(runs: readonly RunResult[], system: "cluster" | "anchor", window: number): Summary {
  const mine = runs.filter((run) => run.system === system && run.window === window);
  return {
    system,
    window,
    runCount: mine.length,
    tasksPerS: median(mine.map((run) => run.tasksPerS)),
    p50Ms: median(mine.map((run) => run.p50Ms)),
    p99Ms: median(mine.map((run) => run.p99Ms)),
    missing: mine.reduce((sum, run) => sum + run.missing, 0),
    cpuUsPerTask: {
      load: median(mine.map((run) => run.cpuUsPerTask.load)),
      hub: median(mine.map((run) => run.cpuUsPerTask.hub)),
      workers: median(mine.map((run) => run.cpuUsPerTask.workers)),
    },
    tasksPerSRuns: mine.map((run) => Math.round(run.tasksPerS)),
  };
}

/** Compares the two systems at every window. */
export function compare(runs: readonly RunResult[], windows: readonly number[]): Comparison[] {
  return windows.map((window) => {
    const cluster = summarise(runs, "cluster", window);
    const anchor = summarise(runs, "anchor", window);
    return {
      window,
      cluster,
      anchor,
      throughputRatio: anchor.tasksPerS > 0 ? cluster.tasksPerS / anchor.tasksPerS : 0,
      p99Ratio: anchor.p99Ms > 0 ? cluster.p99Ms / anchor.p99Ms : 0,
    };
  });
}

/** The verdict on each target, as short lines ("met" or "MISSED"). */
export function verdicts(comparisons: readonly Comparison[]): string[] {
  const lines: string[] = [];
  const w64 = comparisons.find((c) => c.window === 64);
  const w1 = comparisons.find((c) => c.window === 1);
  if (w64 !== undefined) {
    const ok = w64.throughputRatio >= THROUGHPUT_RATIO_MIN;
    lines.push(
      `window 64 throughput ${w64.throughputRatio.toFixed(2)}× anchor (target ≥ ${THROUGHPUT_RATIO_MIN}×): ${ok ? "met" : "MISSED"}`,
    );
  }
  if (w1 !== undefined) {
    const ok = w1.p99Ratio <= P99_RATIO_MAX;
    lines.push(`window 1 p99 ${w1.p99Ratio.toFixed(2)}× anchor (target ≤ ${P99_RATIO_MAX}×): ${ok ? "met" : "MISSED"}`);
  }
  return lines;
}

const f2 = (value: number): string => value.toFixed(2);
const f0 = (value: number): string => Math.round(value).toString();

/** The results as a Markdown table (also readable on a terminal). */
export function resultsTable(comparisons: readonly Comparison[]): string {
  const rows = [
    "| window | system | tasks/s | p50 ms | p99 ms | ×anchor tasks/s | ×anchor p99 | runs (tasks/s) | missing |",
  ];
  rows.push("|---:|---|---:|---:|---:|---:|---:|---|---:|");
  for (const c of comparisons) {
    for (const s of [c.cluster, c.anchor]) {
      const isCluster = s.system === "cluster";
      rows.push(
        `| ${c.window} | ${s.system} | ${f0(s.tasksPerS)} | ${f2(s.p50Ms)} | ${f2(s.p99Ms)} | ` +
          `${isCluster ? f2(c.throughputRatio) : "1.00"} | ${isCluster ? f2(c.p99Ratio) : "1.00"} | ` +
          `${s.tasksPerSRuns.join(", ")} | ${s.missing} |`,
      );
    }
  }
  return rows.join("\n");
}

/** Where the CPU time goes, per answered task, as a Markdown table. */
export function cpuTable(comparisons: readonly Comparison[]): string {
  const rows = ["| window | system | load process µs/task | hub µs/task | workers µs/task | total µs/task |"];
  rows.push("|---:|---|---:|---:|---:|---:|");
  for (const c of comparisons) {
    for (const s of [c.cluster, c.anchor]) {
      const { load, hub, workers } = s.cpuUsPerTask;
      rows.push(
        `| ${c.window} | ${s.system} | ${f0(load)} | ${f0(hub)} | ${f0(workers)} | ${f0(load + hub + workers)} |`,
      );
    }
  }
  return rows.join("\n");
}

/** docs/BENCHMARKS.md, complete. `analysis` is the hand-written part on what limits throughput. */
export function benchmarksMarkdown(
  facts: MachineFacts,
  settings: BenchSettings,
  comparisons: readonly Comparison[],
  analysis: string,
): string {
  const windows = settings.windows.join(" and ");
  return `# Benchmarks

Generated by \`npm run bench\` (src/bench/) on ${facts.date}. Do not edit the numbers by hand: run it again.

## Machine

| fact | value |
|---|---|
| CPUs (nproc) | ${facts.cpuCount} |
| CPU model | ${facts.cpuModel} |
| Node | ${facts.nodeVersion} |
| platform | ${facts.platform} |

## Method

- **cluster**: one \`run-dispatcher\`, ${settings.workerCount} \`run-calculator\` (\`--compute-ms 0,0 --capacity ${settings.capacity} --failure-probability 0\`)
  and, per measurement, one \`run-client --concurrency W --duration-s ${settings.durationS}\`: a closed loop keeping W tasks
  (\`rounds\` 1, 16-character input) outstanding. Every hop is validated, retransmitted when lost and bookkept
  exactly as in production; the client verifies every result.
- **anchor** (src/bench/anchor.ts): the same hops with nothing else: a relay process forwarding
  \`{type,id,input,rounds}\` round-robin to ${settings.workerCount} worker processes that compute the same 1-round SHA-256,
  and back to a closed-loop load process with the same window. JSON over the same UDP transport, no validation,
  retransmission, heartbeats, caches or logs.
- Every process is separate, on 127.0.0.1 with port 0. Each system first gets an unrecorded ${settings.warmupS} s run at the
  largest window. Windows ${windows} are then measured one after the other: each system gets an unrecorded
  ${settings.windowWarmupS} s run at that window (at window 1 each calculator sees a quarter of a few thousand tasks per second,
  and its JIT compiler was measured still optimizing 20 s into a run from a fresh start), then ${settings.repetitions} runs of ${settings.durationS} s each, cluster and anchor alternating. Each run is a fresh load
  process, so in both systems tasks sent in its first ${settings.latencyWarmupS} s (\`run-client --warmup-s\`, the anchor load's
  WARMUP_S) count for throughput but not for latency: a fresh Node process answers slowly while its JIT compiler
  warms up, which is the load generator's start-up, not the system under test. tasks/s = answers ÷ run time (from
  the load process's start to its last answer); latency is per task from first send to answer, in an hdr
  histogram. Tables show the median of the runs; "runs" lists each run's tasks/s.
- CPU time per task is read from /proc/PID/stat (10 ms resolution) for the hub and workers, over the run; the
  cluster client's figure includes its process start-up (about 0.2 s of CPU), the anchor load reports its own.

## Results

${resultsTable(comparisons)}

${verdicts(comparisons)
  .map((line) => `- ${line}`)
  .join("\n")}

## Where the CPU goes

${cpuTable(comparisons)}

${analysis}

## Reproduce

\`\`\`sh
npm ci
npm run bench                 # about 2-3 minutes; rewrites this file
npm run build && node dist/src/bench/main.js --repetitions 5 --duration-s 8 --no-write   # longer, print only
\`\`\`

Close other CPU-heavy programs first: on ${facts.cpuCount} cores the ${settings.workerCount + 2} processes of each system already
compete for the CPUs, so background load moves the numbers by 10% or more.
`;
}
