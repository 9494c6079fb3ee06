/**
 * `run-overlay-sim`: runs echo and Finn waves on a topology in the deterministic in-process
 * simulation and prints the JSON of SPEC.md section 7. Bad usage or a bad file exits 2 with one
 * readable paragraph and no stack trace; a run that cannot finish (extreme loss) exits 1.
 */
import { Command, CommanderError, InvalidArgumentError } from "commander";

import { loadLoadsFile, loadTopologyFile, OverlayFileError } from "../overlay/files.js";
import { SimulationStalledError, simulateOverlay } from "../overlay/simulation.js";

/** Tasks a simulation may hold in all (each is a real object with a UUID). */
const SIM_TASKS_MAX = 2_000_000;

function parseLoss(value: string): number {
  const loss = Number(value);
  if (value.trim() === "" || !Number.isFinite(loss) || loss < 0 || loss >= 1) {
    throw new InvalidArgumentError("expected a probability in [0, 1), e.g. 0.2.");
  }
  return loss;
}

function parseSeed(value: string): number {
  const seed = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(seed))
    throw new InvalidArgumentError("expected an integer.");
  return seed;
}

function buildProgram(): Command {
  return new Command("run-overlay-sim")
    .description(
      "Simulate the overlay on a topology: echo wave, rebalancing of queued tasks, a second echo wave " +
        "(which must move nothing) and a Finn wave, over a seeded lossy in-memory network.",
    )
    .requiredOption("--topology <file>", "topology file (config/overlay/*.json)")
    .option("--loads <file>", 'queued tasks per node, e.g. {"a": 7}; default: seeded random 0..3 × slots')
    .option("--loss <p>", "datagram loss probability in [0, 1); duplication is p/2", parseLoss, 0)
    .option("--seed <s>", "seed of the network and the default loads", parseSeed, 1)
    .option("--json", "print the result as one JSON line (the only output format)")
    .exitOverride()
    .configureOutput({ writeErr: () => undefined });
}

/** Entry point of bin/run-overlay-sim. Sets process.exitCode (0, or 2 on a user error). */
export function main(argv: readonly string[]): void {
  const program = buildProgram();
  try {
    program.parse([...argv], { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return;
      process.stderr.write(`run-overlay-sim: ${error.message.replace(/^error: /, "")} (see --help)\n`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
  const options = program.opts<{ topology: string; loads?: string; loss: number; seed: number; json?: boolean }>();
  try {
    const topology = loadTopologyFile(options.topology);
    const loads = options.loads === undefined ? undefined : loadLoadsFile(options.loads, topology);
    const tasks = Object.values(loads ?? {}).reduce((sum, n) => sum + n, 0);
    if (tasks > SIM_TASKS_MAX) {
      throw new OverlayFileError(
        `Invalid loads in ${options.loads}: ${tasks} tasks in all, more than ${SIM_TASKS_MAX}.`,
      );
    }
    const { result } = simulateOverlay({ topology, loads, lossProbability: options.loss, seed: options.seed });
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } catch (error) {
    if (error instanceof OverlayFileError) {
      process.stderr.write(`run-overlay-sim: ${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    if (error instanceof SimulationStalledError) {
      process.stderr.write(`run-overlay-sim: ${error.message}.\n`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
}
