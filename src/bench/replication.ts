/**
 * Replication in `npm run bench` (issue 9 item 8), each comparison alternating two clusters in the
 * same session so that contention hits both alike:
 *
 * 1. factor 3 / quorum 2 against factor 1: throughput at window 64, zero compute, and what a task
 *    costs beyond its copies (CPU per task by role, the dispatcher's datagrams per task);
 * 2. hedging off vs on with 1 of 4 calculators ten times slower: the client's p99 and the extra
 *    copies (hedges ÷ primaries). Target: p99 cut ≥ 5× at ≤ 10% extra copies;
 * 3. adaptive replication off vs on, factor 3 / quorum 2, one always-corrupt calculator of 4: copies
 *    per task and wrong answers accepted (must be 0). Fresh daemons per run: trust is earned in it.
 */
import {
  type ClusterRun,
  type ClusterSpec,
  metricSum,
  type RunLength,
  startReplicationCluster,
} from "./replication-cluster.js";
import { median } from "./report.js";

/** Hedging target (issue 9 item 5). */
export const HEDGE_P99_CUT_MIN = 5;
export const HEDGE_EXTRA_MAX = 0.1;

/** Settings of the replication benchmarks. */
export interface ReplicationBenchOptions {
  readonly repetitions: number;
  readonly durationS: number;
  readonly warmupS: number;
}

const COPIES = "udp_cluster_task_copies_started_total";
const DATAGRAMS_SENT = "udp_cluster_datagrams_sent_total";
const DATAGRAMS_RECEIVED = "udp_cluster_datagrams_received_total";

const THROUGHPUT_CALCULATORS = Array.from({ length: 4 }, () => ({ computeMs: [0, 0] as const, capacity: 64 }));
const HEDGE_CALCULATORS = [
  { computeMs: [20, 30] as const, capacity: 2 },
  { computeMs: [20, 30] as const, capacity: 2 },
  { computeMs: [20, 30] as const, capacity: 2 },
  { computeMs: [200, 300] as const, capacity: 2 },
];
const HEDGING_ON = { enabled: true, quantile: 0.95, minDelayMs: 5, budget: 0.1 };
const HEDGE_WINDOW = 4;
const HEDGE_COUNT = 800;
const ADAPTIVE_CALCULATORS = [
  { computeMs: [5, 15] as const, capacity: 4 },
  { computeMs: [5, 15] as const, capacity: 4 },
  { computeMs: [5, 15] as const, capacity: 4 },
  { computeMs: [5, 15] as const, capacity: 4, corruption: 1 },
];
const ADAPTIVE_WINDOW = 4;
const ADAPTIVE_COUNT = 600;
const REPLICATED = { factor: 3, quorum: 2 };

/** Per-task figures of one run. */
export interface RunFigures {
  readonly tasksPerS: number;
  readonly p99Ms: number;
  readonly cpuUs: { load: number; hub: number; workers: number; total: number };
  readonly datagramsPerTask: number;
  readonly copiesPerTask: number;
  readonly hedges: number;
  readonly primaries: number;
  readonly wrong: number;
  readonly failed: number;
  readonly received: number;
}

function figures(run: ClusterRun): RunFigures {
  const per = (value: number): number => (run.received > 0 ? value / run.received : 0);
  const us = (ms: number): number => Math.round(per(ms * 1_000));
  const datagrams = metricSum(run.metrics, DATAGRAMS_SENT) + metricSum(run.metrics, DATAGRAMS_RECEIVED);
  return {
    tasksPerS: run.tasksPerS,
    p99Ms: run.p99Ms,
    cpuUs: {
      load: us(run.cpuMs.load),
      hub: us(run.cpuMs.hub),
      workers: us(run.cpuMs.workers),
      total: us(run.cpuMs.load + run.cpuMs.hub + run.cpuMs.workers),
    },
    datagramsPerTask: per(datagrams),
    copiesPerTask: per(metricSum(run.metrics, COPIES)),
    hedges: metricSum(run.metrics, COPIES, 'kind="hedge"'),
    primaries: metricSum(run.metrics, COPIES, 'kind="primary"'),
    wrong: run.wrong,
    failed: run.failed,
    received: run.received,
  };
}

/** Two labelled variants measured alternately, `repetitions` runs each. */
async function alternate(
  labels: readonly [string, string],
  specs: readonly [ClusterSpec, ClusterSpec],
  window: number,
  length: RunLength,
  options: ReplicationBenchOptions & { readonly warmup?: RunLength; readonly freshPerRun?: boolean },
): Promise<[RunFigures[], RunFigures[]]> {
  const results: [RunFigures[], RunFigures[]] = [[], []];
  const start = (i: 0 | 1) => startReplicationCluster(specs[i]);
  const shared = options.freshPerRun === true ? undefined : await Promise.all([start(0), start(1)]);
  try {
    if (shared !== undefined && options.warmup !== undefined) {
      for (const cluster of shared) await cluster.run(window, options.warmup);
    }
    for (let repetition = 1; repetition <= options.repetitions; repetition += 1) {
      const order: (0 | 1)[] = repetition % 2 === 1 ? [0, 1] : [1, 0];
      for (const i of order) {
        const cluster = shared?.[i] ?? (await start(i));
        try {
          const run = figures(await cluster.run(window, length));
          results[i].push(run);
          console.log(
            `  ${labels[i].padEnd(18)} run ${repetition}: ${Math.round(run.tasksPerS)} tasks/s, p99 ${run.p99Ms.toFixed(1)} ms, ` +
              `${run.copiesPerTask.toFixed(2)} copies/task, ${run.hedges} hedges, cpu µs/task ${run.cpuUs.total}, ` +
              `${run.datagramsPerTask.toFixed(2)} datagrams/task at the dispatcher, wrong ${run.wrong}, failed ${run.failed}`,
          );
        } finally {
          if (shared === undefined) await cluster.stop();
        }
      }
    }
  } finally {
    if (shared !== undefined) await Promise.all(shared.map((cluster) => cluster.stop()));
  }
  return results;
}

/** Medians (and sums where a ratio of totals is the honest figure) of one variant. */
export interface Variant {
  readonly runs: readonly RunFigures[];
  readonly tasksPerS: number;
  readonly p99Ms: number;
  readonly cpuUs: RunFigures["cpuUs"];
  readonly datagramsPerTask: number;
  readonly copiesPerTask: number;
  /** Hedges ÷ primaries over every measured run. */
  readonly extraCopies: number;
  readonly wrong: number;
  readonly failed: number;
  readonly received: number;
}

function variant(runs: readonly RunFigures[]): Variant {
  const med = (pick: (run: RunFigures) => number): number => median(runs.map(pick));
  const sum = (pick: (run: RunFigures) => number): number => runs.reduce((total, run) => total + pick(run), 0);
  const primaries = sum((r) => r.primaries);
  return {
    runs,
    tasksPerS: med((r) => r.tasksPerS),
    p99Ms: med((r) => r.p99Ms),
    cpuUs: {
      load: med((r) => r.cpuUs.load),
      hub: med((r) => r.cpuUs.hub),
      workers: med((r) => r.cpuUs.workers),
      total: med((r) => r.cpuUs.total),
    },
    datagramsPerTask: med((r) => r.datagramsPerTask),
    copiesPerTask: med((r) => r.copiesPerTask),
    extraCopies: primaries > 0 ? sum((r) => r.hedges) / primaries : 0,
    wrong: sum((r) => r.wrong),
    failed: sum((r) => r.failed),
    received: sum((r) => r.received),
  };
}

/** What the replication benchmarks found. */
export interface ReplicationBench {
  readonly options: ReplicationBenchOptions;
  readonly startedIso: string;
  readonly elapsedS: number;
  readonly single: Variant;
  readonly replicated: Variant;
  readonly hedgeOff: Variant;
  readonly hedgeOn: Variant;
  readonly adaptiveOff: Variant;
  readonly adaptiveOn: Variant;
}

/** Runs the three comparisons. */
export async function benchReplication(options: ReplicationBenchOptions): Promise<ReplicationBench> {
  const startedMs = Date.now();
  const startedIso = new Date(startedMs).toISOString();
  console.log("\nreplication: factor 1 vs factor 3 / quorum 2, window 64, zero compute, 4 calculators:");
  const [single, replicated] = await alternate(
    ["factor 1", "factor 3 quorum 2"],
    [{ calculators: THROUGHPUT_CALCULATORS }, { replication: REPLICATED, calculators: THROUGHPUT_CALCULATORS }],
    64,
    { durationS: options.durationS },
    { ...options, warmup: { durationS: options.warmupS } },
  );
  console.log(
    `\nhedging: 3 calculators computeMs 20..30, 1 at 200..300, window ${HEDGE_WINDOW}, ${HEDGE_COUNT} tasks a run:`,
  );
  const [hedgeOff, hedgeOn] = await alternate(
    ["hedging off", "hedging on"],
    [{ calculators: HEDGE_CALCULATORS }, { hedging: HEDGING_ON, calculators: HEDGE_CALCULATORS }],
    HEDGE_WINDOW,
    { count: HEDGE_COUNT },
    { ...options, warmup: { count: 200 } },
  );
  console.log(
    `\nadaptive: factor 3 / quorum 2, 4 calculators, 1 always corrupt, ${ADAPTIVE_COUNT} tasks a run, fresh daemons:`,
  );
  const [adaptiveOff, adaptiveOn] = await alternate(
    ["adaptive off", "adaptive on"],
    [
      { replication: REPLICATED, calculators: ADAPTIVE_CALCULATORS },
      { replication: { ...REPLICATED, adaptive: true }, calculators: ADAPTIVE_CALCULATORS },
    ],
    ADAPTIVE_WINDOW,
    { count: ADAPTIVE_COUNT },
    { ...options, freshPerRun: true },
  );
  return {
    options,
    startedIso,
    elapsedS: Math.round((Date.now() - startedMs) / 1_000),
    single: variant(single),
    replicated: variant(replicated),
    hedgeOff: variant(hedgeOff),
    hedgeOn: variant(hedgeOn),
    adaptiveOff: variant(adaptiveOff),
    adaptiveOn: variant(adaptiveOn),
  };
}
