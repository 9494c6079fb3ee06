/**
 * `overlay-generate`: writes a seeded random topology (tree or DAG) as JSON to stdout or `--out FILE`.
 * `run-cluster --generate` calls {@link generateTopology} directly; this entry exists for scripts.
 * Bad usage exits 2 with one readable paragraph.
 */
import { writeFileSync } from "node:fs";

import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { formatTopology, generateTopology } from "../overlay/generate.js";
import { OVERLAY_NODES_MAX } from "../protocol/overlay-packets.js";

function positiveInt(max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < 1 || n > max)
      throw new InvalidArgumentError(`expected an integer in 1..${max}.`);
    return n;
  };
}

function buildProgram(): Command {
  return new Command("overlay-generate")
    .description("Write a random overlay topology (SPEC.md section 7) with readable node names.")
    .addOption(new Option("--kind <kind>", "tree or dag").choices(["tree", "dag"]).default("tree"))
    .requiredOption("--nodes <n>", `number of nodes, 1..${OVERLAY_NODES_MAX}`, positiveInt(OVERLAY_NODES_MAX))
    .option("--seed <s>", "seed; the same seed gives the same file", positiveInt(Number.MAX_SAFE_INTEGER), 1)
    .option("--fanout-max <n>", "children per node at most (primary links)", positiveInt(1_000), 4)
    .option("--slots-max <n>", "slots per node drawn in 1..n", positiveInt(1_024), 4)
    .option("--parents-max <n>", "DAG: parents per node at most", positiveInt(64), 3)
    .option("--out <file>", "write to this file instead of stdout")
    .exitOverride()
    .configureOutput({ writeErr: () => undefined });
}

/** Entry point. Sets process.exitCode (0, or 2 on bad usage). */
export function main(argv: readonly string[]): void {
  const program = buildProgram();
  try {
    program.parse([...argv], { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === "commander.helpDisplayed") return;
      process.stderr.write(`overlay-generate: ${error.message.replace(/^error: /, "")} (see --help)\n`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
  const o = program.opts<{
    kind: "tree" | "dag";
    nodes: number;
    seed: number;
    fanoutMax: number;
    slotsMax: number;
    parentsMax: number;
    out?: string;
  }>();
  const file = generateTopology({
    kind: o.kind,
    nodes: o.nodes,
    seed: o.seed,
    fanoutMax: o.fanoutMax,
    slotsMax: o.slotsMax,
    parentsMax: o.parentsMax,
  });
  const text = formatTopology(file);
  if (o.out === undefined) {
    process.stdout.write(text);
    return;
  }
  try {
    writeFileSync(o.out, text);
  } catch (error) {
    process.stderr.write(
      `overlay-generate: cannot write ${o.out}: ${(error as NodeJS.ErrnoException).code ?? error}.\n`,
    );
    process.exitCode = 2;
  }
}
