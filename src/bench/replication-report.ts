/**
 * The replication benchmarks as a Markdown section of docs/BENCHMARKS.md (also printed), with the
 * hedging target's verdict, and the splice that replaces only this section when the benchmark runs
 * with `--only replication`.
 */
import { HEDGE_EXTRA_MAX, HEDGE_P99_CUT_MIN, type ReplicationBench, type Variant } from "./replication.js";

/** The section's heading; `--only replication` replaces the text from it to the next `## ` heading. */
export const REPLICATION_HEADING = "## Replication, hedging and adaptive trust";

const fixed = (value: number, digits = 2): string => value.toFixed(digits);
const runsOf = (variant: Variant, pick: (run: Variant["runs"][number]) => number, digits = 0): string =>
  variant.runs.map((run) => pick(run).toFixed(digits)).join(", ");

/** The hedging verdict in one line. */
export function hedgingVerdict(bench: ReplicationBench): string {
  const cut = bench.hedgeOn.p99Ms > 0 ? bench.hedgeOff.p99Ms / bench.hedgeOn.p99Ms : 0;
  const extra = bench.hedgeOn.extraCopies;
  const met = cut >= HEDGE_P99_CUT_MIN && extra <= HEDGE_EXTRA_MAX;
  return (
    `Hedging cuts the client's p99 by ${fixed(cut, 1)}× (${fixed(bench.hedgeOff.p99Ms, 1)} -> ` +
    `${fixed(bench.hedgeOn.p99Ms, 1)} ms) at ${fixed(extra * 100, 1)}% extra copies ` +
    `(target ≥ ${HEDGE_P99_CUT_MIN}× at ≤ ${HEDGE_EXTRA_MAX * 100}%): ${met ? "met" : "MISSED"}.`
  );
}

function throughputSection(bench: ReplicationBench): string {
  const { single, replicated } = bench;
  const ratio = single.tasksPerS > 0 ? replicated.tasksPerS / single.tasksPerS : 0;
  const row = (name: string, v: Variant): string =>
    `| ${name} | ${Math.round(v.tasksPerS)} | ${runsOf(v, (r) => r.tasksPerS)} | ${fixed(v.copiesPerTask)} | ` +
    `${v.cpuUs.load} / ${v.cpuUs.hub} / ${v.cpuUs.workers} | ${v.cpuUs.total} | ${fixed(v.datagramsPerTask)} |`;
  const perCopy = (v: Variant): number => (v.copiesPerTask > 0 ? v.cpuUs.total / v.copiesPerTask : 0);
  return `### Factor 3 / quorum 2 against factor 1 (window 64, zero compute, 4 calculators of capacity 64)

| replication | tasks/s (median) | runs | copies/task | CPU µs/task client / dispatcher / calculators | CPU µs/task total | dispatcher datagrams/task (in + out) |
|---|---|---|---|---|---|---|
${row("factor 1", single)}
${row("factor 3, quorum 2", replicated)}

Factor 3 / quorum 2 gives ${fixed(ratio)}× the throughput of factor 1 (a third would be 0.33×). Beyond
the copies themselves: CPU per task ${fixed(single.cpuUs.total > 0 ? replicated.cpuUs.total / single.cpuUs.total : 0)}× (per copy
${Math.round(perCopy(replicated))} µs against ${Math.round(perCopy(single))} µs), dispatcher datagrams per task
${fixed(single.datagramsPerTask > 0 ? replicated.datagramsPerTask / single.datagramsPerTask : 0)}×. Each copy
is an assign and a result, and every copy still out when the quorum is reached is cancelled (a cancel and
its acknowledgement); the dispatcher also keeps the votes. At window 64 both are CPU-bound on 2 cores,
so throughput follows the total CPU per task.
`;
}

function hedgingSection(bench: ReplicationBench): string {
  const { hedgeOff, hedgeOn } = bench;
  const row = (name: string, v: Variant): string =>
    `| ${name} | ${fixed(v.p99Ms, 1)} | ${runsOf(v, (r) => r.p99Ms, 1)} | ${runsOf(v, (r) => r.hedges)} | ` +
    `${fixed(v.extraCopies * 100, 1)}% | ${v.failed} |`;
  return `### Hedging: 1 of 4 calculators ten times slower

Four calculators of capacity 2: three with \`computeMs\` 20..30, one with 200..300. \`run-client
--concurrency 4 --count 800\` a run, after an unrecorded run of 200 tasks on each cluster. Hedging on:
\`{ "enabled": true, "quantile": 0.95, "minDelayMs": 5, "budget": 0.1 }\`. Extra copies = hedge copies ÷
primary copies over all measured runs (the dispatcher's \`task_copies_started_total\` by kind).

| hedging | client p99 ms (median) | runs p99 ms | hedges per run | extra copies | failed |
|---|---|---|---|---|---|
${row("off", hedgeOff)}
${row("on", hedgeOn)}

${hedgingVerdict(bench)}
`;
}

function adaptiveSection(bench: ReplicationBench): string {
  const { adaptiveOff, adaptiveOn } = bench;
  const row = (name: string, v: Variant): string =>
    `| ${name} | ${fixed(v.copiesPerTask)} | ${runsOf(v, (r) => r.copiesPerTask, 2)} | ${v.received} | ${v.wrong} | ${v.failed} |`;
  return `### Adaptive replication: copies per task

Factor 3 / quorum 2, four calculators (\`computeMs\` 5..15, capacity 4), one with
\`corruption.probability\` 1 (always wrong). \`run-client --concurrency 4 --count 600\` against fresh
daemons each run, so every run includes earning trust (\`trustRunMin\` 10). Copies per task = every copy
started (all kinds) ÷ tasks answered.

| adaptive | copies/task (median) | runs | tasks answered | wrong answers accepted | failed |
|---|---|---|---|---|---|
${row("off", adaptiveOff)}
${row("on", adaptiveOn)}

Adaptive on starts ${fixed(adaptiveOff.copiesPerTask > 0 ? (1 - adaptiveOn.copiesPerTask / adaptiveOff.copiesPerTask) * 100 : 0, 0)}% fewer
copies; wrong answers accepted: ${adaptiveOff.wrong + adaptiveOn.wrong} (must be 0:
${adaptiveOff.wrong + adaptiveOn.wrong === 0 ? "met" : "MISSED"}).
`;
}

/** The whole section. */
export function replicationMarkdown(bench: ReplicationBench): string {
  return `${REPLICATION_HEADING}

Measured ${bench.startedIso.slice(0, 16).replace("T", " ")} UTC in ${bench.elapsedS} s; each comparison
alternates its two clusters run by run (${bench.options.repetitions} runs each), fresh processes on
127.0.0.1, medians shown. Run only these with \`npm run bench -- --only replication\`.

${throughputSection(bench)}
${hedgingSection(bench)}
${adaptiveSection(bench)}`;
}

/** Replaces this section in `document` (or appends it) and returns the new text. */
export function spliceSection(document: string, section: string): string {
  const start = document.indexOf(REPLICATION_HEADING);
  if (start < 0) return `${document.trimEnd()}\n\n${section}`;
  const next = document.indexOf("\n## ", start + REPLICATION_HEADING.length);
  const rest = next < 0 ? "" : document.slice(next + 1);
  return `${document.slice(0, start)}${section}${rest === "" ? "" : `\n${rest}`}`;
}
