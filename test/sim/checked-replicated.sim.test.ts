/**
 * Goal: replicated execution (factor 3, quorum 2, maxCopies 5) keeps SPEC section 9's promises under
 * faults, with one or two corrupt calculators (each wrong in its own way) and calculators crashing
 * right after voting or answering a cancel: no final result without a quorum of identical results,
 * no wrong result final, every cancelled copy stops, no task beyond maxCopies or with two copies on
 * one calculator, and each task ends once: correct, or `no_quorum` / `timeout`.
 * Method: seeded whole-cluster runs (src/sim/scenarios.ts) through the online checker; SIM_SEED=<n>
 * replays one.
 */
import { SCENARIOS } from "../../src/sim/scenarios.js";
import { describeScenario } from "./checked.js";

const replicatedChecks = [
  "final_answers_once",
  "final_result_has_quorum",
  "final_result_correct",
  "copies_within_max",
  "cancelled_copy_stops",
  "executions_started_by_dispatcher",
  "dead_calculator_copies_replaced",
];

for (const scenario of SCENARIOS.filter((s) => s.name.startsWith("replicated"))) {
  describeScenario(scenario, 1, replicatedChecks);
}
