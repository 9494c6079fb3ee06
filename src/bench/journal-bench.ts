/**
 * The journal's cost in `npm run bench`: the same cluster with and without a dispatcher journal
 * (SQLite, `journal.sync` full: every commit fsynced), measured alternately at one window (64) in the
 * same session, so contention hits both alike. Target (issue 11): with the journal at least 0.5x the
 * throughput without it. Reports both, the ratio, and the commit latency the dispatcher measured.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cpuPerTask, measureAlternately } from "./alternate.js";
import { spliceByHeading } from "./auth-bench.js";
import { killAll, type LogLine } from "./processes.js";
import { median } from "./report.js";
import { type BenchSystem, type RunResult, type SystemOptions, startCluster } from "./systems.js";

/** Journal on ÷ journal off throughput at the measured window must be at least this. */
export const JOURNAL_THROUGHPUT_RATIO_MIN = 0.5;

/** What the journal comparison found (medians over the repetitions). */
export interface JournalBench {
  readonly window: number;
  readonly offTasksPerS: number;
  readonly onTasksPerS: number;
  readonly offP99Ms: number;
  readonly onP99Ms: number;
  readonly runsOff: readonly number[];
  readonly runsOn: readonly number[];
  /** The dispatcher's CPU time per task (µs, median): what the journal costs its thread and the writer thread. */
  readonly offHubUs: number;
  readonly onHubUs: number;
  /** The dispatcher's own figures: commits, records, commit p50/p99/max (ms). */
  readonly report: LogLine | undefined;
}

/** Settings of the comparison. */
export interface JournalBenchOptions extends SystemOptions {
  readonly window: number;
  readonly repetitions: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly latencyWarmupS: number;
}

/** Measures `plain` (running, no journal) against a fresh journaled cluster, alternating. */
export async function benchJournal(options: JournalBenchOptions, plain: BenchSystem): Promise<JournalBench> {
  const dir = mkdtempSync(join(tmpdir(), "udp-cluster-bench-journal-"));
  const journaled = await startCluster({ ...options, journalPath: join(dir, "journal.db") });
  const off: RunResult[] = [];
  const on: RunResult[] = [];
  try {
    await journaled.measure(options.window, options.warmupS, 0);
    const runs = await measureAlternately(
      { system: plain, label: "journal off" },
      { system: journaled, label: "journal on " },
      options,
      (run) => `CPU per task: dispatcher ${run.cpuUsPerTask.hub} µs, all processes ${cpuPerTask(run)} µs`,
    );
    off.push(...runs.off);
    on.push(...runs.on);
  } finally {
    await journaled.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    window: options.window,
    offTasksPerS: median(off.map((r) => r.tasksPerS)),
    onTasksPerS: median(on.map((r) => r.tasksPerS)),
    offP99Ms: median(off.map((r) => r.p99Ms)),
    onP99Ms: median(on.map((r) => r.p99Ms)),
    runsOff: off.map((r) => Math.round(r.tasksPerS)),
    runsOn: on.map((r) => Math.round(r.tasksPerS)),
    offHubUs: median(off.map((r) => r.cpuUsPerTask.hub)),
    onHubUs: median(on.map((r) => r.cpuUsPerTask.hub)),
    report: journaled.journalReport?.(),
  };
}

/** The comparison as a Markdown section (also printed). */
export function journalMarkdown(bench: JournalBench): string {
  const ratio = bench.offTasksPerS > 0 ? bench.onTasksPerS / bench.offTasksPerS : 0;
  const verdict = ratio >= JOURNAL_THROUGHPUT_RATIO_MIN ? "met" : "MISSED";
  const r = bench.report ?? {};
  const num = (key: string): string => (typeof r[key] === "number" ? String(r[key]) : "-");
  const records = Number(r["records"] ?? 0);
  const commits = Number(r["commits"] ?? 0);
  return `## The dispatcher journal (window ${bench.window})

The same cluster with \`journal.path\` set (SQLite through libsql, \`journal.sync\` full: every commit
fsynced; docs/JOURNAL.md) against the cluster without it, alternating runs in this session.

| journal | tasks/s (median) | p99 ms (median) | dispatcher CPU µs/task (median) | runs (tasks/s) |
|---|---|---|---|---|
| off | ${Math.round(bench.offTasksPerS)} | ${bench.offP99Ms.toFixed(2)} | ${bench.offHubUs} | ${bench.runsOff.join(", ")} |
| on | ${Math.round(bench.onTasksPerS)} | ${bench.onP99Ms.toFixed(2)} | ${bench.onHubUs} | ${bench.runsOn.join(", ")} |

Journal on: ${ratio.toFixed(2)}× the throughput with it off (target ≥ ${JOURNAL_THROUGHPUT_RATIO_MIN}×): ${verdict}.
Commit latency measured by the dispatcher (from a batch leaving for the writer thread to it being
durable, last 8 192 commits of its life): p50 ${num("commitP50Ms")} ms, p99 ${num("commitP99Ms")} ms, max ${num("commitMaxMs")} ms; of that,
the transaction itself (fsync included) p50 ${num("storeP50Ms")} ms, p99 ${num("storeP99Ms")} ms; ${commits} commits of
${records} records (${commits > 0 ? (records / commits).toFixed(1) : "-"} records per commit).
`;
}

/** What `--only journal` needs from the command line. */
export interface OnlyJournalOptions extends JournalBenchOptions {
  readonly outPath: string;
  readonly shouldWrite: boolean;
}

/** `--only journal`: a cluster without a journal against one with it; replaces only its section of the report. */
export async function runOnlyJournal(options: OnlyJournalOptions): Promise<void> {
  const plain = await startCluster(options);
  try {
    console.log(`\njournal on vs off at window ${options.window}:`);
    await plain.measure(options.window, options.warmupS, 0);
    const section = journalMarkdown(await benchJournal(options, plain));
    console.log(`\n${section}`);
    if (options.shouldWrite) {
      const document = existsSync(options.outPath) ? readFileSync(options.outPath, "utf8") : "# Benchmarks\n";
      writeFileSync(options.outPath, spliceByHeading(document, section));
      console.log(`wrote ${options.outPath}`);
    }
  } finally {
    await plain.stop();
    killAll();
  }
}
