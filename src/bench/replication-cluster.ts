/**
 * A configurable cluster for the replication benchmarks: one dispatcher with a given `replication`
 * and `hedging` config, calculators each with their own compute time, capacity and corruption, all
 * real processes on 127.0.0.1 port 0. A run is one `run-client` closed loop; it reports the client's
 * statistics, the CPU time of each role and the dispatcher's counters over the run (the difference
 * of two scrapes of its admin `/metrics`).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { type BenchProcess, cpuTimeMs, type LogLine, startNode, trackCpuTime } from "./processes.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const READY_TIMEOUT_MS = 15_000;

/** One calculator of the cluster. */
export interface CalculatorSpec {
  readonly computeMs: readonly [number, number];
  readonly capacity: number;
  /** Chance of a wrong result (1: always wrong, in its own way). */
  readonly corruption?: number;
}

/** The dispatcher's replication and hedging settings (docs/CONFIG.md). */
export interface ClusterSpec {
  readonly replication?: Readonly<Record<string, unknown>>;
  readonly hedging?: Readonly<Record<string, unknown>>;
  readonly calculators: readonly CalculatorSpec[];
}

/** How long one run lasts: a duration (closed loop for S seconds) or a task count. */
export type RunLength = { readonly durationS: number } | { readonly count: number };

/** One run of `run-client` against the cluster. */
export interface ClusterRun {
  readonly received: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly wrong: number;
  readonly unanswered: number;
  readonly durationS: number;
  readonly tasksPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU ms over the run: the client, the dispatcher, all calculators. */
  readonly cpuMs: { readonly load: number; readonly hub: number; readonly workers: number };
  /** Dispatcher metric increments over the run, by series (`name{labels}`). */
  readonly metrics: ReadonlyMap<string, number>;
}

/** A started cluster. */
export interface ReplicationCluster {
  run(window: number, length: RunLength): Promise<ClusterRun>;
  stop(): Promise<void>;
}

/** Parses Prometheus text into series → value (counters and gauges; comments skipped). */
export function parseMetrics(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    const value = Number(line.slice(space + 1));
    if (space > 0 && Number.isFinite(value)) series.set(line.slice(0, space), value);
  }
  return series;
}

/** Sum of every series of `name` (any labels) whose labels contain `labelPart`. */
export function metricSum(metrics: ReadonlyMap<string, number>, name: string, labelPart = ""): number {
  let sum = 0;
  for (const [key, value] of metrics) {
    const base = key.split("{")[0];
    if (base === name && key.includes(labelPart)) sum += value;
  }
  return sum;
}

async function scrape(url: string): Promise<Map<string, number>> {
  const response = await fetch(`${url}metrics`);
  if (!response.ok) throw new Error(`GET ${url}metrics: HTTP ${response.status}`);
  return parseMetrics(await response.text());
}

function difference(after: ReadonlyMap<string, number>, before: ReadonlyMap<string, number>): Map<string, number> {
  const delta = new Map<string, number>();
  for (const [key, value] of after) delta.set(key, value - (before.get(key) ?? 0));
  return delta;
}

function cpuSum(processes: readonly BenchProcess[]): number {
  return processes.reduce((sum, child) => sum + (cpuTimeMs(child.pid) ?? 0), 0);
}

function calculatorArgs(spec: CalculatorSpec, index: number, port: number): string[] {
  const args = ["--id", `bench-rep-${index}`, "--listen", "127.0.0.1:0", "--dispatcher", `127.0.0.1:${port}`];
  args.push("--compute-ms", `${spec.computeMs[0]},${spec.computeMs[1]}`, "--capacity", String(spec.capacity));
  args.push("--failure-probability", "0", "--corruption-probability", String(spec.corruption ?? 0));
  return [...args, "--json-logs"];
}

/** Starts the dispatcher and the calculators of `spec`; resolves once every calculator registered. */
export async function startReplicationCluster(spec: ClusterSpec): Promise<ReplicationCluster> {
  const dir = mkdtempSync(join(tmpdir(), "udp-cluster-bench-rep-"));
  const configPath = join(dir, "dispatcher.json");
  const config = {
    listen: { host: "127.0.0.1", port: 0 },
    admin: { host: "127.0.0.1", port: 0 },
    ...(spec.replication === undefined ? {} : { replication: spec.replication }),
    ...(spec.hedging === undefined ? {} : { hedging: spec.hedging }),
  };
  writeFileSync(configPath, JSON.stringify(config));
  const bin = (name: string): string => join(ROOT, "bin", name);
  const daemons: BenchProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(daemons.map((child) => child.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const dispatcher = startNode("dispatcher", bin("run-dispatcher"), ["--config", configPath, "--json-logs"]);
    daemons.push(dispatcher);
    const started = await dispatcher.waitForLine((l: LogLine) => l["msg"] === "dispatcher started", READY_TIMEOUT_MS);
    const port = Number(started["port"]);
    const adminUrl = String(started["admin"]);
    let registered = 0;
    const allRegistered = dispatcher.waitForLine((line: LogLine) => {
      if (line["msg"] === "calculator registered") registered += 1;
      return registered === spec.calculators.length;
    }, READY_TIMEOUT_MS);
    spec.calculators.forEach((calculator, i) => {
      daemons.push(startNode(`calculator-${i + 1}`, bin("run-calculator"), calculatorArgs(calculator, i + 1, port)));
    });
    await allRegistered;
    const workers = daemons.slice(1);
    let runIndex = 0;
    const run = async (window: number, length: RunLength): Promise<ClusterRun> => {
      runIndex += 1;
      const statsPath = join(dir, `stats-${runIndex}.json`);
      const args = ["--dispatcher", `127.0.0.1:${port}`, "--concurrency", String(window)];
      if ("count" in length) args.push("--count", String(length.count));
      else args.push("--duration-s", String(length.durationS));
      args.push("--stats-json", statsPath, "--quiet", "--json-logs");
      const metricsBefore = await scrape(adminUrl);
      const before = { hub: cpuSum([dispatcher]), workers: cpuSum(workers) };
      const client = startNode("run-client", bin("run-client"), args);
      const clientCpu = trackCpuTime(client.pid);
      const code = await client.exited;
      clientCpu.stop();
      const cpuMs = {
        load: clientCpu.lastMs() ?? 0,
        hub: cpuSum([dispatcher]) - before.hub,
        workers: cpuSum(workers) - before.workers,
      };
      const metrics = difference(await scrape(adminUrl), metricsBefore);
      if (code !== 0) throw new Error(`run-client exited with code ${code}`);
      const stats = JSON.parse(readFileSync(statsPath, "utf8")) as Omit<
        ClusterRun,
        "cpuMs" | "metrics" | "p50Ms" | "p99Ms" | "tasksPerS"
      > & {
        latencyMs: { p50: number; p99: number };
      };
      return {
        received: stats.received,
        succeeded: stats.succeeded,
        failed: stats.failed,
        wrong: stats.wrong,
        unanswered: stats.unanswered,
        durationS: stats.durationS,
        tasksPerS: stats.durationS > 0 ? stats.received / stats.durationS : 0,
        p50Ms: stats.latencyMs.p50,
        p99Ms: stats.latencyMs.p99,
        cpuMs,
        metrics,
      };
    };
    return { run, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
