/**
 * Whole-cluster deterministic simulation: the real dispatcher, calculator and client cores, the
 * real codec, on a seeded MemoryNetwork with a ManualClock. A fault schedule drawn from the seed
 * crashes, restarts and freezes calculators (never the last one standing) and can restart the
 * dispatcher. A run returns what the invariant checks need; any failure replays from its seed.
 */
import { CalculatorCore } from "../calculator/core.js";
import { evaluateTask } from "../calculator/evaluate.js";
import type { CalculatorCoreConfig, CalculatorOutput } from "../calculator/types.js";
import { ClientCore } from "../client/core.js";
import type { ClientCoreConfig, ClientOutput, TaskRecord } from "../client/types.js";
import { DispatcherCore } from "../dispatcher/core.js";
import type { DispatcherCoreConfig, DispatcherOutput } from "../dispatcher/types.js";
import { ManualClock } from "../runtime/clock.js";
import { type Rng, randomIntInclusive, seededRng, seededUuid } from "../runtime/rng.js";
import { CoreHost } from "../shell/core-host.js";
import type { FlushScheduler } from "../shell/send-batcher.js";
import { MemoryNetwork } from "../transport/memory-network.js";
import type { Endpoint } from "../transport/transport.js";
import { simCalculatorConfig, simClientConfig, simDispatcherConfig } from "./sim-configs.js";
import { TurnEnds } from "./turn-ends.js";

/** What to simulate. Probabilities are per datagram; faults are drawn from the seed. */
export interface ClusterSimOptions {
  readonly seed: number;
  readonly calculatorCount: number;
  readonly lossProbability: number;
  readonly duplicateProbability: number;
  readonly delayMsMax: number;
  /** Crash (for good or to restart), and freeze calculators at random moments (calc-0 is never touched). */
  readonly hasCalculatorFaults: boolean;
  /** Kill the dispatcher once and start a fresh one on the same address. */
  readonly hasDispatcherRestart: boolean;
  /** Simulated time limit (ms); the run stops earlier when the client has finished. */
  readonly simTimeMsMax: number;
  readonly dispatcher?: Partial<DispatcherCoreConfig>;
  readonly calculator?: Partial<CalculatorCoreConfig>;
  readonly client?: Partial<ClientCoreConfig>;
}

/** What a run produced, for the invariant checks. */
export interface ClusterSimReport {
  readonly records: TaskRecord[];
  readonly sentTaskIds: string[];
  readonly duplicateAnswerCount: number;
  readonly wrongCount: number;
  readonly hasFinished: boolean;
  readonly simTimeMs: number;
  /** Final answers the dispatcher(s) produced, per task id (exactly one expected per incarnation). */
  readonly dispatcherFinals: Map<string, number>;
  /** Largest value seen of each bounded quantity, checked against its maximum. */
  readonly peaks: { tasks: number; queued: number; runningPerCalculator: number; inFlight: number };
  readonly faults: string[];
  readonly networkStats: MemoryNetwork["stats"];
  /**
   * Ticks that produced outputs before the core's own nextDeadlineMs(): each one is a deadline the
   * real daemons (which tick only at deadlines) would have met late. Expected empty.
   */
  readonly deadlineViolations: string[];
  /** Datagrams that carried a `batch` frame of several packets (the hosts alive at the end). */
  readonly batchFrameCount: number;
}

const STEP_MS = 5;
const TICK_MS = 10;
const DISPATCHER_ENDPOINT: Endpoint = { host: "10.0.0.1", port: 5555 };

/** Runs one seeded simulation to completion (or simTimeMsMax). */
export function runClusterSim(options: ClusterSimOptions): ClusterSimReport {
  const rng = seededRng(options.seed);
  const faultRng = seededRng(options.seed ^ 0x5eed);
  const clock = new ManualClock(0);
  const now = (): number => clock.nowMs();
  const network = new MemoryNetwork({
    rng,
    lossProbability: options.lossProbability,
    duplicateProbability: options.duplicateProbability,
    delayMsMax: options.delayMsMax,
    inFlightMax: 10_000,
  });
  const dispatcherFinals = new Map<string, number>();
  const faults: string[] = [];
  const deadlineViolations: string[] = [];
  const tickChecked = <O extends { kind: string }>(name: string, host: CoreHost<O> | undefined): void => {
    if (host === undefined) return;
    const deadlineMs = host.core.nextDeadlineMs?.();
    const nowMs = clock.nowMs();
    const outputCount = host.tick();
    if (outputCount > 0 && (deadlineMs === undefined || nowMs < deadlineMs)) {
      deadlineViolations.push(`${name} at ${nowMs} ms: ${outputCount} outputs before its deadline ${deadlineMs}`);
    }
  };
  const peaks = { tasks: 0, queued: 0, runningPerCalculator: 0, inFlight: 0 };
  // Sends are coalesced per peer as in the daemons; a "turn" ends after each delivery round and tick.
  const turnEnds = new TurnEnds();
  const scheduleFlush = turnEnds.schedule;
  const dispatcherConfig = simDispatcherConfig(options.dispatcher);

  const startDispatcher = (): CoreHost<DispatcherOutput> => {
    const transport = network.bind(now, DISPATCHER_ENDPOINT.host, DISPATCHER_ENDPOINT.port);
    const perform = (output: DispatcherOutput): void => {
      if (output.kind === "task_completed" || output.kind === "task_failed") {
        dispatcherFinals.set(output.taskId, (dispatcherFinals.get(output.taskId) ?? 0) + 1);
      }
    };
    return new CoreHost(transport, new DispatcherCore(dispatcherConfig), now, perform, { scheduleFlush });
  };
  let dispatcher = startDispatcher();

  const calculators: (CoreHost<CalculatorOutput> | undefined)[] = [];
  const startCalculator = (index: number): CoreHost<CalculatorOutput> => {
    const config = simCalculatorConfig(`calc-${index}`, clock.nowMs() + 1, DISPATCHER_ENDPOINT, options.calculator);
    const core = new CalculatorCore(config, seededRng(options.seed * 31 + index + clock.nowMs()), clock.nowMs());
    const transport = network.bind(now, `10.0.1.${index}`, 7000 + index);
    const perform = (output: CalculatorOutput): void => {
      if (output.kind === "compute") {
        node.apply(core.onComputed(now(), output.taskId, evaluateTask(output.input, output.rounds)));
      }
    };
    const node: CoreHost<CalculatorOutput> = new CoreHost(transport, core, now, perform, { scheduleFlush });
    return node;
  };
  for (let i = 0; i < options.calculatorCount; i += 1) calculators.push(startCalculator(i));

  const client = buildClient(options, network, now, rng, scheduleFlush);
  const schedule = drawFaults(options, faultRng);

  let simTimeMs = 0;
  while (simTimeMs < options.simTimeMsMax && !client.state.hasFinished) {
    clock.advance(STEP_MS);
    simTimeMs = clock.nowMs();
    network.deliverDue(simTimeMs);
    turnEnds.run();
    for (const fault of schedule.filter((f) => f.atMs > simTimeMs - STEP_MS && f.atMs <= simTimeMs)) {
      faults.push(`${fault.atMs}ms ${fault.kind} ${fault.index}`);
      if (fault.kind === "dispatcher_restart") {
        void dispatcher.transport.close();
        dispatcher = startDispatcher();
      } else {
        applyCalculatorFault(fault, calculators, startCalculator);
      }
    }
    if (simTimeMs % TICK_MS === 0) {
      tickChecked("dispatcher", dispatcher);
      for (const [index, calculator] of calculators.entries()) tickChecked(`calc-${index}`, calculator);
      tickChecked("client", client.node);
      turnEnds.run();
    }
    const counts = (dispatcher.core as DispatcherCore).counts();
    peaks.tasks = Math.max(peaks.tasks, counts.queued + counts.running);
    peaks.queued = Math.max(peaks.queued, counts.queued);
    peaks.inFlight = Math.max(peaks.inFlight, network.inFlightCount);
    for (const calculator of calculators) {
      const running = calculator === undefined ? 0 : (calculator.core as CalculatorCore).runningCount;
      peaks.runningPerCalculator = Math.max(peaks.runningPerCalculator, running);
    }
  }
  return {
    records: client.state.records,
    sentTaskIds: client.state.sentTaskIds,
    duplicateAnswerCount: client.state.duplicateCount,
    wrongCount: client.state.wrongCount,
    hasFinished: client.state.hasFinished,
    simTimeMs,
    dispatcherFinals,
    peaks,
    faults,
    networkStats: network.stats,
    batchFrameCount: [dispatcher, client.node, ...calculators].reduce(
      (sum, host) => sum + (host?.batcher?.frameCount ?? 0),
      0,
    ),
    deadlineViolations,
  };
}

interface ClientState {
  records: TaskRecord[];
  sentTaskIds: string[];
  duplicateCount: number;
  wrongCount: number;
  hasFinished: boolean;
}

function buildClient(
  options: ClusterSimOptions,
  network: MemoryNetwork,
  now: () => number,
  rng: Rng,
  scheduleFlush: FlushScheduler,
): { node: CoreHost<ClientOutput>; state: ClientState } {
  const state: ClientState = { records: [], sentTaskIds: [], duplicateCount: 0, wrongCount: 0, hasFinished: false };
  const idRng = seededRng(options.seed + 7);
  const core = new ClientCore(
    simClientConfig(DISPATCHER_ENDPOINT, options.client),
    {
      rng,
      newTaskId: () => seededUuid(idRng),
      verify: (input, rounds, result) => evaluateTask(input, rounds) === result,
    },
    now(),
  );
  const perform = (output: ClientOutput): void => {
    if (output.kind === "task_sent") state.sentTaskIds.push(output.taskId);
    else if (output.kind === "task_ended") {
      state.records.push(output.record);
      if (output.isWrong) state.wrongCount += 1;
    } else if (output.kind === "duplicate_answer") state.duplicateCount += 1;
    else if (output.kind === "finished") state.hasFinished = true;
  };
  const node = new CoreHost(network.bind(now, "10.0.2.1", 9000), core, now, perform, { scheduleFlush });
  return { node, state };
}

interface Fault {
  readonly atMs: number;
  readonly kind: "crash" | "restart" | "freeze" | "thaw" | "dispatcher_restart";
  readonly index: number;
}

function drawFaults(options: ClusterSimOptions, rng: Rng): Fault[] {
  const faults: Fault[] = [];
  if (options.hasCalculatorFaults) {
    for (let index = 1; index < options.calculatorCount; index += 1) {
      const atMs = randomIntInclusive(rng, 50, 2_500);
      const downMs = randomIntInclusive(rng, 100, 2_000);
      const draw = rng();
      const isCrash = draw < 0.6;
      faults.push({ atMs, kind: isCrash ? "crash" : "freeze", index });
      // A third of the crashes are permanent: only re-placement can save the tasks they held.
      if (draw >= 0.2) faults.push({ atMs: atMs + downMs, kind: isCrash ? "restart" : "thaw", index });
    }
  }
  if (options.hasDispatcherRestart)
    faults.push({ atMs: randomIntInclusive(rng, 200, 2_000), kind: "dispatcher_restart", index: 0 });
  return faults.sort((a, b) => a.atMs - b.atMs);
}

function applyCalculatorFault(
  fault: Fault,
  calculators: (CoreHost<CalculatorOutput> | undefined)[],
  start: (index: number) => CoreHost<CalculatorOutput>,
): void {
  const node = calculators[fault.index];
  switch (fault.kind) {
    case "crash":
      if (node !== undefined) void node.transport.close();
      calculators[fault.index] = undefined;
      break;
    case "restart":
      calculators[fault.index] = start(fault.index);
      break;
    case "freeze":
      if (node !== undefined) node.isRunning = false;
      break;
    case "thaw":
      if (node !== undefined) node.isRunning = true;
      break;
    case "dispatcher_restart":
      break;
  }
}
