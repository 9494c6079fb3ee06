/**
 * The checked simulation scenarios: each one a fault mix a real cluster sees, run over many seeds by
 * test/sim/checked.sim.test.ts (CI) and by `npm run sim:hunt` (longer hunts). Every run goes through
 * the SimChecker; a scenario adds the end-state rules it promises (see endStateProblems).
 */
import type { ClusterSimOptions, ClusterSimReport } from "./cluster-sim.js";
import type { FaultPlan } from "./faults.js";

/** A named scenario: options without the seed, and the final failure reasons it allows. */
export interface SimScenario {
  readonly name: string;
  readonly options: Omit<ClusterSimOptions, "seed">;
  /** Failure reasons a task may end with (besides success). */
  readonly allowedFailures: readonly string[];
  /** Seeds per CI run. */
  readonly ciSeeds: number;
  /**
   * At 0% loss: at most this many packets naming a task (submits, receipts, assigns and their resends
   * and probes, acks, results, cancels, final answers) pass the dispatcher per task sent, on average.
   */
  readonly taskPacketsPerTaskMax?: number;
}

const longPlan: FaultPlan = {
  spanMs: 4_000,
  perCalculator: { min: 1, max: 3 },
  downMs: { min: 100, max: 1_500 },
  untouchedCount: 1,
  weights: { crashForGood: 1, restart: 3, freeze: 2, partition: 3 },
};

const base = {
  calculatorCount: 4,
  lossProbability: 0.1,
  duplicateProbability: 0.1,
  delayMsMax: 30,
  hasCalculatorFaults: false,
  hasDispatcherRestart: false,
  simTimeMsMax: 300_000,
  client: { countMax: 45 },
} as const;

/** The scenarios, in CI order. */
export const SCENARIOS: readonly SimScenario[] = [
  {
    name: "long-faults",
    options: { ...base, faultPlan: longPlan },
    allowedFailures: [],
    ciSeeds: 250,
  },
  {
    name: "lossless-partitions",
    options: {
      ...base,
      lossProbability: 0,
      duplicateProbability: 0.05,
      faultPlan: {
        ...longPlan,
        perCalculator: { min: 2, max: 4 },
        downMs: { min: 50, max: 600 },
        weights: { restart: 1, freeze: 1, partition: 4 },
      },
      calculators: [undefined, { computeMs: { min: 600, max: 2_500 } }],
    },
    allowedFailures: [],
    ciSeeds: 200,
    // Measured 9.7..11.4 over seeds 1-40 (about 10: submit, receipt, assign and its resends, ack,
    // probes of the slow calculator, done, final answer, duplicates). A resend storm breaks it.
    taskPacketsPerTaskMax: 14,
  },
  {
    name: "blackout",
    options: {
      ...base,
      lossProbability: 0.05,
      dispatcher: { queueTimeoutMs: 2_500 },
      faultPlan: { ...longPlan, perCalculator: { min: 0, max: 2 }, blackout: { atMs: 1_500, downMs: 3_500 } },
    },
    allowedFailures: ["timeout"],
    ciSeeds: 100,
  },
  {
    name: "slow-and-reordered",
    options: {
      ...base,
      spike: { probability: 0.05, delayMsMax: 1_500 },
      faultPlan: { ...longPlan, weights: { restart: 4, freeze: 1, partition: 1 }, downMs: { min: 100, max: 900 } },
      calculators: [undefined, { computeMs: { min: 800, max: 3_000 } }, { computeMs: { min: 800, max: 3_000 } }],
    },
    allowedFailures: [],
    ciSeeds: 150,
  },
  {
    // SPEC 8: every task carries a deadline shorter than queueTimeoutMs; slow and failing calculators
    // make some miss it. Each such task is answered `deadline` by its deadline, never before.
    name: "deadlines",
    options: {
      ...base,
      client: { ...base.client, deadlineMs: 1_200 },
      faultPlan: longPlan,
      calculators: [undefined, { computeMs: { min: 600, max: 2_000 } }],
    },
    allowedFailures: ["deadline"],
    ciSeeds: 100,
  },
  {
    name: "replicated-one-corrupt",
    options: {
      ...base,
      calculatorCount: 5,
      dispatcher: { replication: { factor: 3, quorum: 2, maxCopies: 5, adaptive: false } },
      calculators: [undefined, undefined, undefined, undefined, { corruption: { probability: 1 } }],
      crashOnVoteProbability: 0.05,
      crashOnCancelProbability: 0.1,
      faultPlan: { ...longPlan, untouchedCount: 0, weights: { restart: 3, freeze: 2, partition: 3 } },
    },
    allowedFailures: ["no_quorum"],
    ciSeeds: 200,
  },
  {
    name: "replicated-two-corrupt",
    options: {
      ...base,
      calculatorCount: 5,
      dispatcher: { replication: { factor: 3, quorum: 2, maxCopies: 5, adaptive: false } },
      calculators: [
        undefined,
        undefined,
        undefined,
        { corruption: { probability: 0.5 } },
        { corruption: { probability: 1 } },
      ],
      crashOnVoteProbability: 0.05,
      crashOnCancelProbability: 0.1,
      faultPlan: { ...longPlan, weights: { restart: 3, freeze: 2, partition: 3 } },
    },
    allowedFailures: ["no_quorum", "timeout"],
    ciSeeds: 100,
  },
  {
    // Hedges, adaptive trust and client cancels together: copies that lose to their hedge, tasks that
    // run as one copy on a trusted calculator, cancels that race votes and hedges, and calculators
    // crashing right after a vote or a cancel. One calculator always corrupt, one slow.
    name: "replicated-hedged-adaptive-cancels",
    options: {
      ...base,
      calculatorCount: 5,
      dispatcher: {
        replication: { factor: 3, quorum: 2, maxCopies: 5, adaptive: true, trustRunMin: 3 },
        hedging: { enabled: true, quantile: 0.8, minDelayMs: 50, budget: 0.3 },
      },
      calculators: [
        undefined,
        { computeMs: { min: 800, max: 2_500 } },
        undefined,
        undefined,
        { corruption: { probability: 1 } },
      ],
      clientCancels: { probability: 0.15, delayMsMax: 1_500 },
      crashOnVoteProbability: 0.05,
      crashOnCancelProbability: 0.1,
      faultPlan: { ...longPlan, weights: { restart: 3, freeze: 2, partition: 3 } },
    },
    // timeout: a task whose copies ran out (maxCopies) waits for a lost one until queueTimeoutMs.
    allowedFailures: ["no_quorum", "cancelled", "timeout"],
    ciSeeds: 100,
  },
];

/** End-state rules: the run finished, every task sent got exactly one final answer, allowed outcomes only. */
export function endStateProblems(scenario: SimScenario, report: ClusterSimReport): string[] {
  const problems: string[] = [];
  if (!report.hasFinished) problems.push(`run did not finish by ${report.simTimeMs} ms`);
  const answered = report.records.map((record) => record.id);
  if (new Set(answered).size !== answered.length) problems.push("a task was answered twice to the client");
  const sent = new Set(report.sentTaskIds);
  if (answered.length !== sent.size || answered.some((id) => !sent.has(id)))
    problems.push(`answered ${answered.length} of ${sent.size} tasks sent`);
  for (const record of report.records) {
    if (record.outcome === "ok") continue;
    if (!scenario.allowedFailures.includes(record.reason ?? ""))
      problems.push(`${record.id}: ended ${record.outcome} ${record.reason ?? ""}`);
  }
  if (report.wrongCount > 0) problems.push(`${report.wrongCount} wrong results reached the client`);
  if (report.deadlineViolations.length > 0) problems.push(`late deadline: ${report.deadlineViolations[0]}`);
  const packetsMax = scenario.taskPacketsPerTaskMax;
  if (packetsMax !== undefined && scenario.options.lossProbability === 0 && sent.size > 0) {
    const perTask = report.dispatcherTaskPacketCount / sent.size;
    if (perTask > packetsMax)
      problems.push(`${perTask.toFixed(1)} task packets per task at the dispatcher (max ${packetsMax})`);
  }
  return problems.slice(0, 10);
}

/** Everything wrong with a run: the checker's violations and the end-state problems. */
export function runProblems(scenario: SimScenario, report: ClusterSimReport): string[] {
  return [
    ...report.violations.map((v) => `${v.atMs} ms ${v.check}: ${v.detail}`),
    ...endStateProblems(scenario, report),
  ];
}
