/**
 * `npm run sim:hunt -- --seeds N --from S [--scenario NAME] [--quiet] [--stop-at-first]`: runs the
 * checked simulation scenarios over any number of seeds and prints each failing (scenario, seed) with
 * its problems, then per scenario how many failed and the first failing seed; exit 1 when any failed.
 * Replay one seed in the test suite with SIM_SEED=<seed> SIM_SCENARIO=<name>.
 */
import { runClusterSim } from "./cluster-sim.js";
import { runProblems, SCENARIOS, type SimScenario } from "./scenarios.js";

function argValue(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

interface Options {
  readonly count: number;
  readonly from: number;
  readonly isQuiet: boolean;
  readonly isStopAtFirst: boolean;
}

/** Runs one scenario over the seeds; returns how many failed. */
function huntScenario(scenario: SimScenario, options: Options): number {
  let failed = 0;
  let first = "";
  for (let seed = options.from; seed < options.from + options.count; seed += 1) {
    const problems = runProblems(scenario, runClusterSim({ ...scenario.options, seed }));
    if (problems.length === 0) continue;
    failed += 1;
    if (first === "") first = `; first seed ${seed}: ${problems[0]}`;
    if (!options.isQuiet)
      process.stdout.write(`FAIL ${scenario.name} seed ${seed}\n  ${problems.slice(0, 3).join("\n  ")}\n`);
    if (options.isStopAtFirst) break;
  }
  process.stdout.write(`${scenario.name}: ${failed} of ${options.count} seeds failed${first}\n`);
  return failed;
}

function main(): void {
  const options: Options = {
    count: Number(argValue("--seeds") ?? "100"),
    from: Number(argValue("--from") ?? "1"),
    isQuiet: process.argv.includes("--quiet"),
    isStopAtFirst: process.argv.includes("--stop-at-first"),
  };
  const only = argValue("--scenario");
  const scenarios = SCENARIOS.filter((s) => only === undefined || s.name === only);
  if (scenarios.length === 0 || !Number.isInteger(options.count) || !Number.isInteger(options.from)) {
    const names = SCENARIOS.map((s) => s.name).join("|");
    process.stderr.write(`usage: sim:hunt -- --seeds N --from S [--scenario ${names}] [--quiet] [--stop-at-first]\n`);
    process.exit(2);
  }
  const startedMs = Date.now();
  let failed = 0;
  for (const scenario of scenarios) failed += huntScenario(scenario, options);
  process.stdout.write(`${failed} failed, ${((Date.now() - startedMs) / 1000).toFixed(1)} s\n`);
  process.exit(failed > 0 ? 1 : 0);
}

main();
