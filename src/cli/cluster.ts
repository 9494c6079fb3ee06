/**
 * `run-cluster`: the newcomer's entry point (also `npm start`). Starts a dispatcher, N calculators
 * and a client on this machine with defaults that show the system working within a minute, shows
 * live progress, prints the statistics at the end or on Ctrl-C, and stops every child it started.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { Command } from "commander";

import { runLocalCluster } from "../cluster/local-cluster.js";
import { runOverlayCluster } from "../cluster/overlay-cluster.js";
import { runOverlaySpread } from "../cluster/spread-run.js";
import { ConfigError } from "../config/load.js";
import { formatTopology, generateTopology } from "../overlay/generate.js";
import { PARENTS_MAX } from "../overlay/tree.js";
import { OVERLAY_NODES_MAX } from "../protocol/overlay-packets.js";
import { SPREAD_TASKS_MAX } from "../protocol/spread-packets.js";
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
  overlay?: string;
  rebalanceIntervalMs: string;
  queueMax: string;
  generate?: string;
  nodes: string;
  seed: string;
  fanoutMax: string;
  slotsMax: string;
  parentsMax: string;
  out?: string;
  spread?: string;
  statsJson?: string;
}

/** --generate tree|dag: writes a random topology (stdout or --out) and starts nothing. */
function generate(flags: ClusterFlags): void {
  if (flags.generate !== "tree" && flags.generate !== "dag") {
    throw new ConfigError(`Flag --generate expects tree or dag, got "${flags.generate}".`);
  }
  const file = generateTopology({
    kind: flags.generate,
    nodes: parseNumberFlag(flags.nodes, "--nodes", 1, OVERLAY_NODES_MAX),
    seed: parseNumberFlag(flags.seed, "--seed", 0, Number.MAX_SAFE_INTEGER),
    fanoutMax: parseNumberFlag(flags.fanoutMax, "--fanout-max", 1, 1_000),
    slotsMax: parseNumberFlag(flags.slotsMax, "--slots-max", 1, 1_024),
    parentsMax: parseNumberFlag(flags.parentsMax, "--parents-max", 1, PARENTS_MAX),
  });
  const text = formatTopology(file);
  if (flags.out === undefined) process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
  else {
    writeFileSync(flags.out, text.endsWith("\n") ? text : `${text}\n`);
    process.stderr.write(`run-cluster: wrote a ${flags.generate} of ${file.nodes.length} nodes to ${flags.out}\n`);
  }
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
      .option("--run-dir <dir>", "where configs, logs, stats.json and results.jsonl go (default: a new temp dir)")
      .option("--overlay <file>", "run calculators as the overlay in this topology file (one per node)")
      .option("--rebalance-interval-ms <ms>", "overlay: the root rebalances this often (0: only on demand)", "2000")
      .option("--queue-max <n>", "overlay: tasks each node may queue beyond its slots", "500")
      .option("--generate <kind>", "write a random topology (tree or dag) and exit; see --nodes, --seed, --out")
      .option("--nodes <n>", "--generate: number of nodes", "7")
      .option("--seed <s>", "--generate: seed (the same seed gives the same file)", "1")
      .option("--fanout-max <n>", "--generate: children per node at most", "3")
      .option("--slots-max <n>", "--generate: slots per node drawn in 1..n", "4")
      .option("--parents-max <n>", "--generate dag: parents per node at most", "3")
      .option("--out <file>", "--generate: write here instead of stdout")
      .option("--spread <n>", "overlay: spread N tasks with one Finn wave instead of running a client, then exit")
      .option("--stats-json <file>", "--spread: also write the statistics of the N tasks here");
    program.parse([...argv], { from: "user" });
    const flags = program.opts<ClusterFlags>();
    if (flags.generate !== undefined) return generate(flags);
    const runDir = flags.runDir === undefined ? mkdtempSync(join(tmpdir(), "udp-cluster-")) : resolve(flags.runDir);
    const options = {
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
      // On a terminal the client's progress line is rewritten in place without a newline: clear it
      // first, or this line would be glued onto it (the client redraws it within 0.5 s).
      say: (text: string) => process.stderr.write(`${process.stderr.isTTY ? "\r\x1b[2K" : ""}run-cluster: ${text}\n`),
    };
    options.say(
      "auth is off (all on 127.0.0.1): to authenticate datagrams, give each daemon --key-file FILE (docs/SECURITY.md)",
    );
    if (flags.spread !== undefined || flags.statsJson !== undefined) {
      if (flags.overlay === undefined || flags.spread === undefined)
        throw new ConfigError(
          "Flags --spread N and --stats-json FILE need --overlay FILE (and --stats-json needs --spread).",
        );
      process.exitCode = await runOverlaySpread({
        ...options,
        topologyPath: flags.overlay,
        queueMax: parseNumberFlag(flags.queueMax, "--queue-max", 1, 1_000),
        spreadCount: parseNumberFlag(flags.spread, "--spread", 1, SPREAD_TASKS_MAX),
        statsJsonPath: flags.statsJson === undefined ? undefined : resolve(flags.statsJson),
      });
      return;
    }
    const code =
      flags.overlay === undefined
        ? await runLocalCluster(options)
        : await runOverlayCluster({
            ...options,
            topologyPath: flags.overlay,
            rebalanceIntervalMs: parseNumberFlag(flags.rebalanceIntervalMs, "--rebalance-interval-ms", 0, 3_600_000),
            queueMax: parseNumberFlag(flags.queueMax, "--queue-max", 1, 1_000),
            // An explicit --interval-ms keeps the open loop; by default the overlay's queues are kept full.
            isOpenLoop: program.getOptionValueSource("intervalMs") === "cli",
          });
    process.exitCode = code;
  });
}
