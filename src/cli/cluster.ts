/**
 * `run-cluster`: the newcomer's entry point (also `npm start`). Starts a dispatcher, N calculators
 * and a client on this machine with defaults that show the system working within a minute, shows
 * live progress, prints the statistics at the end or on Ctrl-C, and stops every child it started.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { Command } from "commander";

import { runLocalCluster } from "../cluster/local-cluster.js";
import { type CommonFlags, parseNumberFlag, parseRangeFlag, runMain, withCommonOptions } from "./common.js";

interface ClusterFlags extends CommonFlags {
  calculators: string;
  capacity: string;
  computeMs: string;
  failureProbability: string;
  corruptionProbability: string;
  intervalMs: string;
  rounds: string;
  durationS?: string;
  count?: string;
  runDir?: string;
}

/** Entry point of bin/run-cluster. */
export async function main(argv: readonly string[]): Promise<void> {
  await runMain(async () => {
    const program = withCommonOptions(new Command("run-cluster"))
      .description(
        "Start a dispatcher, N calculators and a client on this machine, show progress, print statistics at the end.\n" +
          "Defaults run for 20 s with short computations and occasional emulated outages.",
      )
      .option("--calculators <n>", "number of calculators", "4")
      .option("--capacity <n>", "parallel tasks per calculator", "2")
      .option("--compute-ms <min,max>", "emulated computation time per task", "200,1500")
      .option("--failure-probability <p>", "chance of an emulated outage every 5 s per calculator", "0.15")
      .option("--corruption-probability <p>", "chance that a calculator returns a wrong result", "0")
      .option("--interval-ms <min,max>", "client pause between tasks", "50,300")
      .option("--rounds <n>", "SHA-256 rounds per task", "1")
      .option("--duration-s <s>", "send for this long, then wait for the answers (default 20)")
      .option("--count <n>", "send this many tasks instead of running for a duration")
      .option("--run-dir <dir>", "where configs, logs, stats.json and results.jsonl go (default: a new temp dir)");
    program.parse([...argv], { from: "user" });
    const flags = program.opts<ClusterFlags>();
    const runDir = flags.runDir === undefined ? mkdtempSync(join(tmpdir(), "udp-cluster-")) : resolve(flags.runDir);
    const code = await runLocalCluster({
      calculatorCount: parseNumberFlag(flags.calculators, "--calculators", 1, 64),
      capacity: parseNumberFlag(flags.capacity, "--capacity", 1, 1_024),
      computeMs: parseRangeFlag(flags.computeMs, "--compute-ms"),
      failureProbability: parseNumberFlag(flags.failureProbability, "--failure-probability", 0, 1, false),
      corruptionProbability: parseNumberFlag(flags.corruptionProbability, "--corruption-probability", 0, 1, false),
      intervalMs: parseRangeFlag(flags.intervalMs, "--interval-ms"),
      rounds: parseNumberFlag(flags.rounds, "--rounds", 1, 1_000_000),
      durationS:
        flags.durationS === undefined ? undefined : parseNumberFlag(flags.durationS, "--duration-s", 1, 86_400, false),
      count: flags.count === undefined ? undefined : parseNumberFlag(flags.count, "--count", 1, 10_000_000),
      runDir,
      logLevel: flags.logLevel === "info" ? "info" : flags.logLevel,
      say: (text) => process.stderr.write(`run-cluster: ${text}\n`),
    });
    process.exitCode = code;
  });
}
