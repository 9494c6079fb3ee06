/**
 * Whole-cluster deterministic simulation: the real dispatcher, calculator and client cores, the
 * real codec, on a seeded MemoryNetwork with a ManualClock. A fault schedule drawn from the seed
 * crashes, restarts, freezes and partitions calculators and can restart the dispatcher; reactive
 * faults crash a calculator right after it votes or is told to cancel. Every packet and output goes
 * through a SimChecker (checker.ts). A run returns what the invariant checks need; any failure
 * replays from its seed.
 */
import { CalculatorCore } from "../calculator/core.js";
import { evaluateTask } from "../calculator/evaluate.js";
import type { CalculatorCoreConfig, CalculatorOutput } from "../calculator/types.js";
import type { ClientCoreConfig, TaskRecord } from "../client/types.js";
import { DispatcherCore } from "../dispatcher/core.js";
import type { DispatcherCoreConfig, DispatcherOutput } from "../dispatcher/types.js";
import { ManualClock } from "../runtime/clock.js";
import { type Rng, randomIntInclusive, seededRng } from "../runtime/rng.js";
import { CoreHost } from "../shell/core-host.js";
import { MemoryNetwork } from "../transport/memory-network.js";
import type { Endpoint } from "../transport/transport.js";
import { SimChecker, type Violation } from "./checker.js";
import { drawPlannedFaults, drawSimpleFaults, type Fault, type FaultPlan } from "./faults.js";
import { buildSimClient, type SimCancels } from "./sim-client.js";
import { simCalculatorConfig, simDispatcherConfig } from "./sim-configs.js";
import { tracedCore } from "./traced-core.js";
import { TurnEnds } from "./turn-ends.js";

/** What to simulate. Probabilities are per datagram; faults are drawn from the seed. */
export interface ClusterSimOptions {
  readonly seed: number;
  readonly calculatorCount: number;
  readonly lossProbability: number;
  readonly duplicateProbability: number;
  readonly delayMsMax: number;
  /** Delay spikes: this share of datagrams is delayed up to spikeDelayMsMax (heavy reordering). */
  readonly spike?: { readonly probability: number; readonly delayMsMax: number };
  /** Crash (for good or to restart), and freeze calculators at random moments (calc-0 is never touched). */
  readonly hasCalculatorFaults: boolean;
  /** Several faults per calculator, partitions and a blackout (replaces hasCalculatorFaults' schedule). */
  readonly faultPlan?: FaultPlan;
  /** Crash a healthy calculator right after it sends a result / answers a cancel, restart it later. */
  readonly crashOnVoteProbability?: number;
  readonly crashOnCancelProbability?: number;
  /** Kill the dispatcher once and start a fresh one on the same address. */
  readonly hasDispatcherRestart: boolean;
  /** Simulated time limit (ms); the run stops earlier when the client has finished. */
  readonly simTimeMsMax: number;
  readonly dispatcher?: Partial<DispatcherCoreConfig>;
  readonly calculator?: Partial<CalculatorCoreConfig>;
  /** Per-calculator settings on top of `calculator` (slow or corrupt calculators), by index. */
  readonly calculators?: readonly (Partial<CalculatorCoreConfig> | undefined)[];
  readonly client?: Partial<ClientCoreConfig>;
  /** The client cancels this share of its tasks, at a random moment after sending each. */
  readonly clientCancels?: SimCancels;
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
  /** What the online checker found (expected empty), and how often each check ran. */
  readonly violations: Violation[];
  readonly checkCounts: Map<string, number>;
  /** Packets naming a task that the dispatcher(s) received and sent (checker.ts taskPacketCount). */
  readonly dispatcherTaskPacketCount: number;
}

const STEP_MS = 5;
const TICK_MS = 10;
const DISPATCHER_ENDPOINT: Endpoint = { host: "10.0.0.1", port: 5555 };

/** Runs one seeded simulation to completion (or simTimeMsMax). */
export function runClusterSim(options: ClusterSimOptions): ClusterSimReport {
  return new ClusterSim(options).run();
}

/** Where a calculator is in its fault sequence: faults of one calculator never overlap. */
type CalcCondition = "ok" | "crashed" | "frozen" | "cut";

class ClusterSim {
  readonly #o: ClusterSimOptions;
  readonly #clock = new ManualClock(0);
  readonly #now = (): number => this.#clock.nowMs();
  readonly #rng: Rng;
  readonly #faultRng: Rng;
  readonly #network: MemoryNetwork;
  readonly #turnEnds = new TurnEnds();
  readonly #checker: SimChecker;
  readonly #dispatcherConfig: DispatcherCoreConfig;
  readonly #dispatcherFinals = new Map<string, number>();
  readonly #faults: string[] = [];
  readonly #deadlineViolations: string[] = [];
  readonly #peaks = { tasks: 0, queued: 0, runningPerCalculator: 0, inFlight: 0 };
  #schedule: Fault[];
  #dispatcherCore!: DispatcherCore;
  #dispatcher!: CoreHost<DispatcherOutput>;
  readonly #calculators: (CoreHost<CalculatorOutput> | undefined)[] = [];
  readonly #calcCores: (CalculatorCore | undefined)[] = [];
  readonly #condition: CalcCondition[] = [];
  /** A planned fault skipped because its calculator was already down: skip its end too. */
  readonly #skipEnd: boolean[] = [];

  constructor(options: ClusterSimOptions) {
    this.#o = options;
    this.#rng = seededRng(options.seed);
    this.#faultRng = seededRng(options.seed ^ 0x5eed);
    this.#network = new MemoryNetwork({
      rng: this.#rng,
      lossProbability: options.lossProbability,
      duplicateProbability: options.duplicateProbability,
      delayMsMax: options.delayMsMax,
      inFlightMax: 10_000,
      ...(options.spike === undefined
        ? {}
        : { spikeProbability: options.spike.probability, spikeDelayMsMax: options.spike.delayMsMax }),
    });
    this.#dispatcherConfig = simDispatcherConfig(options.dispatcher);
    const calculatorIds = Array.from({ length: options.calculatorCount }, (_, i) => `calc-${i}`);
    const corruptCount = calculatorIds.filter(
      (_, i) => ((options.calculators?.[i]?.corruption ?? options.calculator?.corruption)?.probability ?? 0) > 0,
    ).length;
    this.#checker = new SimChecker({
      dispatcher: this.#dispatcherConfig,
      delayBoundMs: Math.max(options.delayMsMax, options.spike?.delayMsMax ?? 0),
      tickMs: TICK_MS,
      isLossFree: options.lossProbability === 0,
      corruptCount,
      calculatorIds,
      truth: evaluateTask,
    });
    this.#schedule = this.#drawFaults();
  }

  #drawFaults(): Fault[] {
    const o = this.#o;
    const faults =
      o.faultPlan !== undefined
        ? drawPlannedFaults(o.calculatorCount, o.faultPlan, this.#faultRng)
        : o.hasCalculatorFaults
          ? drawSimpleFaults(o.calculatorCount, this.#faultRng)
          : [];
    if (o.hasDispatcherRestart)
      faults.push({ atMs: randomIntInclusive(this.#faultRng, 200, 2_000), kind: "dispatcher_restart", index: 0 });
    return faults.sort((a, b) => a.atMs - b.atMs);
  }

  run(): ClusterSimReport {
    const scheduleFlush = this.#turnEnds.schedule;
    this.#dispatcher = this.#startDispatcher();
    for (let i = 0; i < this.#o.calculatorCount; i += 1) {
      this.#condition.push("ok");
      this.#skipEnd.push(false);
      this.#calculators.push(this.#startCalculator(i));
    }
    const client = buildSimClient(
      this.#o.seed,
      this.#o.client,
      DISPATCHER_ENDPOINT,
      this.#network,
      this.#now,
      this.#rng,
      scheduleFlush,
      this.#o.clientCancels,
    );
    let simTimeMs = 0;
    while (simTimeMs < this.#o.simTimeMsMax && !client.state.hasFinished) {
      this.#clock.advance(STEP_MS);
      simTimeMs = this.#clock.nowMs();
      this.#network.deliverDue(simTimeMs);
      this.#turnEnds.run();
      this.#applyDueFaults(simTimeMs);
      client.cancelDue(simTimeMs);
      if (simTimeMs % TICK_MS === 0) {
        this.#tickChecked("dispatcher", this.#dispatcher);
        for (const [index, calculator] of this.#calculators.entries()) this.#tickChecked(`calc-${index}`, calculator);
        this.#tickChecked("client", client.node);
        this.#turnEnds.run();
      }
      this.#checker.endStep(simTimeMs);
      this.#recordPeaks();
    }
    return {
      records: client.state.records,
      sentTaskIds: client.state.sentTaskIds,
      duplicateAnswerCount: client.state.duplicateCount,
      wrongCount: client.state.wrongCount,
      hasFinished: client.state.hasFinished,
      simTimeMs,
      dispatcherFinals: this.#dispatcherFinals,
      peaks: this.#peaks,
      faults: this.#faults,
      networkStats: this.#network.stats,
      batchFrameCount: [this.#dispatcher, client.node, ...this.#calculators].reduce(
        (sum, host) => sum + (host?.batcher?.frameCount ?? 0),
        0,
      ),
      deadlineViolations: this.#deadlineViolations,
      violations: this.#checker.violations,
      checkCounts: this.#checker.checkCounts,
      dispatcherTaskPacketCount: this.#checker.taskPacketCount,
    };
  }

  #tickChecked<O extends { kind: string }>(name: string, host: CoreHost<O> | undefined): void {
    if (host === undefined) return;
    const deadlineMs = host.core.nextDeadlineMs?.();
    const nowMs = this.#clock.nowMs();
    const outputCount = host.tick();
    if (outputCount > 0 && (deadlineMs === undefined || nowMs < deadlineMs)) {
      this.#deadlineViolations.push(`${name} at ${nowMs} ms: ${outputCount} outputs before its deadline ${deadlineMs}`);
    }
  }

  #recordPeaks(): void {
    const counts = this.#dispatcherCore.counts();
    const peaks = this.#peaks;
    peaks.tasks = Math.max(peaks.tasks, counts.queued + counts.running);
    peaks.queued = Math.max(peaks.queued, counts.queued);
    peaks.inFlight = Math.max(peaks.inFlight, this.#network.inFlightCount);
    for (const core of this.#calcCores)
      peaks.runningPerCalculator = Math.max(peaks.runningPerCalculator, core?.runningCount ?? 0);
  }

  #startDispatcher(): CoreHost<DispatcherOutput> {
    const transport = this.#network.bind(this.#now, DISPATCHER_ENDPOINT.host, DISPATCHER_ENDPOINT.port);
    const perform = (output: DispatcherOutput): void => {
      if (output.kind === "task_completed" || output.kind === "task_failed") {
        this.#dispatcherFinals.set(output.taskId, (this.#dispatcherFinals.get(output.taskId) ?? 0) + 1);
      }
    };
    const core = new DispatcherCore(this.#dispatcherConfig);
    this.#dispatcherCore = core;
    this.#checker.attachDispatcher(core);
    const checker = this.#checker;
    const traced = tracedCore<DispatcherOutput>(core, {
      beforePacket: (nowMs, packet) => checker.dispatcherIn(nowMs, packet),
      afterPacket: (nowMs, packet) => checker.dispatcherHandled(nowMs, packet),
      outputs: (nowMs, outputs) => checker.dispatcherOut(nowMs, outputs),
    });
    return new CoreHost(transport, traced, this.#now, perform, { scheduleFlush: this.#turnEnds.schedule });
  }

  #startCalculator(index: number): CoreHost<CalculatorOutput> {
    const o = this.#o;
    const overrides = { ...o.calculator, ...o.calculators?.[index] };
    const nowMs = this.#clock.nowMs();
    const config = simCalculatorConfig(`calc-${index}`, nowMs + 1, DISPATCHER_ENDPOINT, overrides);
    const core = new CalculatorCore(config, seededRng(o.seed * 31 + index + nowMs), nowMs);
    this.#calcCores[index] = core;
    const transport = this.#network.bind(this.#now, `10.0.1.${index}`, 7000 + index);
    const checker = this.#checker;
    const onOutputs = (atMs: number, outputs: readonly CalculatorOutput[]): void => {
      checker.calculatorOut(atMs, index, outputs);
      this.#maybeCrashAfter(atMs, index, outputs);
    };
    const perform = (output: CalculatorOutput): void => {
      if (output.kind !== "compute") return;
      const outputs = core.onComputed(this.#now(), output.taskId, evaluateTask(output.input, output.rounds));
      onOutputs(this.#now(), outputs);
      node.apply(outputs);
    };
    const traced = tracedCore<CalculatorOutput>(core, {
      beforePacket: (atMs, packet) => checker.calculatorIn(atMs, index, packet),
      outputs: onOutputs,
    });
    const node: CoreHost<CalculatorOutput> = new CoreHost(transport, traced, this.#now, perform, {
      scheduleFlush: this.#turnEnds.schedule,
    });
    return node;
  }

  /** Reactive faults: a healthy calculator crashes right after voting or answering a cancel. */
  #maybeCrashAfter(nowMs: number, index: number, outputs: readonly CalculatorOutput[]): void {
    if (this.#condition[index] !== "ok") return;
    const onVote = this.#o.crashOnVoteProbability ?? 0;
    const onCancel = this.#o.crashOnCancelProbability ?? 0;
    if (onVote === 0 && onCancel === 0) return;
    for (const output of outputs) {
      if (output.kind !== "send") continue;
      const p = output.packet;
      const chance = p.type === "task.done" ? onVote : p.type === "task.ack" && p.state === "cancelled" ? onCancel : 0;
      if (chance === 0 || this.#faultRng() >= chance) continue;
      const downMs = randomIntInclusive(this.#faultRng, 100, 1_500);
      this.#condition[index] = "crashed"; // no planned fault starts meanwhile
      this.#schedule.push(
        { atMs: nowMs + 1, kind: "crash", index, isReactive: true },
        { atMs: nowMs + downMs, kind: "restart", index, isReactive: true },
      );
      this.#schedule.sort((a, b) => a.atMs - b.atMs);
      return;
    }
  }

  #applyDueFaults(simTimeMs: number): void {
    if ((this.#schedule[0]?.atMs ?? Number.POSITIVE_INFINITY) > simTimeMs) return;
    const due = this.#schedule.filter((f) => f.atMs <= simTimeMs);
    this.#schedule = this.#schedule.filter((f) => f.atMs > simTimeMs);
    for (const fault of due) {
      if (fault.kind === "dispatcher_restart") {
        this.#faults.push(`${fault.atMs}ms ${fault.kind}`);
        void this.#dispatcher.transport.close();
        this.#dispatcher = this.#startDispatcher();
      } else if (this.#applyCalculatorFault(fault)) {
        this.#faults.push(`${fault.atMs}ms ${fault.kind} ${fault.index}`);
        this.#checker.fault(simTimeMs, fault.kind, fault.index);
      }
    }
  }

  /** Applies a calculator fault; false when it was skipped (its calculator was already down). */
  #applyCalculatorFault(fault: Fault): boolean {
    const { index, kind } = fault;
    const node = this.#calculators[index];
    const endpoint: Endpoint = { host: `10.0.1.${index}`, port: 7000 + index };
    if (kind === "isolate" || kind === "rejoin") {
      this.#network.setIsolated(endpoint, kind === "isolate");
      return true;
    }
    const isStart = kind === "crash" || kind === "freeze" || kind.startsWith("cut_");
    if (fault.isReactive !== true) {
      if (isStart && this.#condition[index] !== "ok") {
        this.#skipEnd[index] = kind !== "crash";
        return false;
      }
      if (!isStart && this.#skipEnd[index] === true) {
        this.#skipEnd[index] = false;
        return false;
      }
    }
    switch (kind) {
      case "crash":
        if (node === undefined) return false;
        void node.transport.close();
        this.#calculators[index] = undefined;
        this.#calcCores[index] = undefined;
        this.#condition[index] = "crashed";
        return true;
      case "restart":
        if (node !== undefined) return false;
        this.#calculators[index] = this.#startCalculator(index);
        this.#condition[index] = "ok";
        return true;
      case "freeze":
      case "thaw":
        if (node === undefined) return false;
        node.isRunning = kind === "thaw";
        this.#condition[index] = kind === "freeze" ? "frozen" : "ok";
        return true;
      default:
        this.#cut(endpoint, kind);
        this.#condition[index] = kind === "heal" ? "ok" : "cut";
        return true;
    }
  }

  #cut(endpoint: Endpoint, kind: Fault["kind"]): void {
    const isUpCut = kind === "cut_up" || kind === "cut_both";
    const isDownCut = kind === "cut_down" || kind === "cut_both";
    this.#network.setLinkBlocked(endpoint, DISPATCHER_ENDPOINT, isUpCut);
    this.#network.setLinkBlocked(DISPATCHER_ENDPOINT, endpoint, isDownCut);
  }
}
