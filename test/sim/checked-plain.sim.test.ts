/**
 * Goal: with replication off, the dispatcher and calculators keep SPEC section 5's promises under the
 * faults real clusters see (several crashes, restarts, freezes and one-way / two-way partitions per
 * calculator over a long run, slow calculators, delay spikes, a blackout longer than queueTimeoutMs),
 * as judged by the online checker (src/sim/checker.ts): request/response accounting, re-placement and
 * deadline time bounds, executions per task, receipt states. docs/TESTING.md lists the planted bugs
 * each check catches.
 * Method: seeded whole-cluster runs (src/sim/scenarios.ts); SIM_SEED=<n> replays one.
 */
import { SCENARIOS } from "../../src/sim/scenarios.js";
import { describeScenario } from "./checked.js";

const byName = (name: string) => {
  const scenario = SCENARIOS.find((s) => s.name === name);
  if (scenario === undefined) throw new Error(`no scenario ${name}`);
  return scenario;
};

const common = [
  "final_answers_once",
  "client_packets_per_request",
  "calculator_packets_per_request",
  "executions_started_by_dispatcher",
  "final_result_has_quorum",
  "final_result_correct",
  "receipt_matches_state",
  "copy_within_task_timeout",
];

describeScenario(byName("long-faults"), 1, [
  ...common,
  "dead_calculator_copies_replaced",
  "restarted_calculator_copies_replaced",
  "restarts_detected_are_real",
]);
describeScenario(byName("lossless-partitions"), 1, [...common, "lost_result_recovered", "busy_takes_copy_back"]);
describeScenario(byName("blackout"), 1, [...common, "answered_by_deadline", "dead_calculator_copies_replaced"]);
describeScenario(byName("slow-and-reordered"), 1, [...common, "busy_takes_copy_back", "restarts_detected_are_real"]);
describeScenario(byName("deadlines"), 1, [...common, "answered_by_deadline", "deadline_not_early"]);
