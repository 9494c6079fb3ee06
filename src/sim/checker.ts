/**
 * The simulation's online checker: what a checker of a real distributed system checks, fed with every
 * packet a core receives, every output it produces and every fault the simulation injects, and
 * compared against ground truth the cores do not have (which calculator is really down, since when,
 * the true result of each task). Checks are exact request/response accounting and time bounds
 * derived from the configuration; each violation names its check and its time. See docs/TESTING.md.
 */
import type { CalculatorOutput } from "../calculator/types.js";
import type { DispatcherCore } from "../dispatcher/core.js";
import type { DispatcherCoreConfig, DispatcherOutput } from "../dispatcher/types.js";
import type { Packet } from "../protocol/packet.js";
import { answerBoundMs, earlyDeadline, PerTask } from "./checker-state.js";

/** What the checker needs to know about the run. */
export interface SimCheckerSettings {
  readonly dispatcher: DispatcherCoreConfig;
  /** Longest one-way delay a datagram can take (ms), spikes included. */
  readonly delayBoundMs: number;
  /** The core tick period (ms): every deadline is met within one tick. */
  readonly tickMs: number;
  /** No random loss: a result is lost only through a fault, so recovery times are exact. */
  readonly isLossFree: boolean;
  /** Calculators that can return wrong results; fewer than the quorum means no wrong final answer. */
  readonly corruptCount: number;
  /** Node ids of the calculators, by index. */
  readonly calculatorIds: readonly string[];
  /** The true result of a task. */
  readonly truth: (input: string, rounds: number) => string;
}

/** One failed check. */
export interface Violation {
  readonly atMs: number;
  readonly check: string;
  readonly detail: string;
}

interface Timed {
  readonly dueMs: number;
  /** Runs the check; returns a later time to run it again, or undefined when settled. */
  readonly run: (nowMs: number) => number | undefined;
}

/** Violations kept per run at most (a broken core fails the same check thousands of times). */
const VIOLATIONS_MAX = 20;

/** The online checker of one simulation run. */
export class SimChecker {
  readonly violations: Violation[] = [];
  /** Checks performed, by name (a check that never runs proves nothing; tests look at this). */
  readonly checkCounts = new Map<string, number>();
  /** Task packets (those naming a task) the dispatcher received and sent: its datagrams per task, bounded. */
  taskPacketCount = 0;
  readonly #s: SimCheckerSettings;
  readonly #quorum: number;
  /** The configured quorum (#quorum is 1 under adaptive trust). */
  readonly #quorumConfigured: number;
  readonly #copiesMax: number;
  readonly #isReplicated: boolean;
  #core: DispatcherCore | undefined;
  #incarnation = 0;
  #tasks = new PerTask();
  #timed: Timed[] = [];
  #timedDueMs = Number.POSITIVE_INFINITY;
  /** Receipts sent this step, checked against the dispatcher's state at the end of the step. */
  #receipts: { taskId: string; state: string }[] = [];
  /** Tasks whose copies changed this step (a receipt may describe the state before the change). */
  readonly #copyChanged = new Set<string>();
  /** Ground truth per calculator index. */
  readonly #calcs: {
    incarnation: number;
    crashed: boolean;
    frozen: boolean;
    cutUp: boolean;
    cutDown: boolean;
    isolated: boolean;
    /** Unreachable from the dispatcher (cannot be heard) since (ms); undefined while reachable. */
    downSinceMs: number | undefined;
    /** Fully connected and running both ways since (ms); undefined while not. */
    upSinceMs: number | undefined;
    restarts: number;
    detectedRestarts: number;
  }[];

  constructor(settings: SimCheckerSettings) {
    this.#s = settings;
    const replication = settings.dispatcher.replication;
    // Adaptive trust runs some tasks as one copy: one voter may be final there (the correctness check
    // still holds, since an always-corrupt calculator never earns trust).
    this.#quorumConfigured = replication?.quorum ?? 1;
    this.#quorum = replication?.adaptive === true ? 1 : this.#quorumConfigured;
    this.#isReplicated = (replication?.factor ?? 1) > 1 || this.#quorumConfigured > 1;
    const maxCopies = replication?.maxCopies ?? replication?.factor ?? 1;
    this.#copiesMax = maxCopies * (settings.dispatcher.hedging?.enabled === true ? 2 : 1);
    this.#calcs = settings.calculatorIds.map(() => ({
      incarnation: 0,
      crashed: false,
      frozen: false,
      cutUp: false,
      cutDown: false,
      isolated: false,
      downSinceMs: undefined,
      upSinceMs: 0,
      restarts: 0,
      detectedRestarts: 0,
    }));
  }

  /** Time within which the dispatcher must notice a silent calculator and take its copies back (ms). */
  get deathBoundMs(): number {
    return this.#s.dispatcher.heartbeatTimeoutMs + this.#s.delayBoundMs + 3 * this.#s.tickMs;
  }

  /** Time within which a result lost on the way must be fetched again by a resend or probe (ms). */
  get recoveryBoundMs(): number {
    const d = this.#s.dispatcher;
    return Math.max(d.probeIntervalMs, ...d.assignRetryMs) + 2 * this.#s.delayBoundMs + 3 * this.#s.tickMs;
  }

  #fail(atMs: number, check: string, detail: string): void {
    if (this.violations.length < VIOLATIONS_MAX) this.violations.push({ atMs, check, detail });
  }

  #count(check: string): void {
    this.checkCounts.set(check, (this.checkCounts.get(check) ?? 0) + 1);
  }

  #at(dueMs: number, run: (nowMs: number) => number | undefined): void {
    this.#timed.push({ dueMs, run });
    this.#timedDueMs = Math.min(this.#timedDueMs, dueMs);
  }

  /** A (new) dispatcher incarnation: its per-incarnation accounting starts empty. */
  attachDispatcher(core: DispatcherCore): void {
    this.#core = core;
    this.#incarnation += 1;
    this.#tasks.newIncarnation();
  }

  #holds(taskId: string, index: number): boolean {
    return this.#core?.holdersOf(taskId).includes(this.#s.calculatorIds[index] ?? "") ?? false;
  }

  /** A packet is about to reach the dispatcher core. */
  dispatcherIn(nowMs: number, packet: Packet): void {
    if ("taskId" in packet) this.taskPacketCount += 1;
    if (packet.type === "task.submit" || packet.type === "task.cancel") {
      const task = this.#tasks.get(packet.taskId);
      task.requestsIn += 1;
      if (task.finalsSent > 0) task.requestsAfterFinal += 1;
      if (packet.type === "task.submit" && task.arrivedMs === undefined) this.#onArrival(nowMs, packet);
    } else if (packet.type === "task.done") {
      const task = this.#tasks.get(packet.taskId);
      const voters = task.voters.get(packet.result) ?? new Set<string>();
      voters.add(packet.from);
      task.voters.set(packet.result, voters);
    }
    if (packet.type === "task.ack" && (packet.state === "busy" || packet.state === "cancelled")) {
      const task = this.#tasks.get(packet.taskId);
      task.refusals.set(packet.from, (task.refusals.get(packet.from) ?? 0) + 1);
    }
    if (packet.type === "task.ack" && packet.state === "busy") {
      const index = this.#s.calculatorIds.indexOf(packet.from);
      const wasHeld = index >= 0 && this.#holds(packet.taskId, index);
      this.#tasks.get(packet.taskId).busyPending = wasHeld ? packet.from : undefined;
    }
  }

  /** The dispatcher core handled a packet (checks that compare before and after). */
  dispatcherHandled(nowMs: number, packet: Packet): void {
    if (packet.type !== "task.ack" || packet.state !== "busy") return;
    const task = this.#tasks.get(packet.taskId);
    if (task.busyPending === undefined) return;
    this.#count("busy_takes_copy_back");
    const index = this.#s.calculatorIds.indexOf(task.busyPending);
    if (this.#holds(packet.taskId, index))
      this.#fail(nowMs, "busy_takes_copy_back", `${packet.taskId}: ${task.busyPending} refused (busy), copy kept`);
    task.busyPending = undefined;
  }

  #onArrival(nowMs: number, submit: Extract<Packet, { type: "task.submit" }>): void {
    const task = this.#tasks.get(submit.taskId);
    Object.assign(task, { arrivedMs: nowMs, deadlineMs: submit.deadlineMs });
    task.input = submit.input;
    task.rounds = submit.rounds;
    const incarnation = this.#incarnation;
    const dueMs = nowMs + answerBoundMs(submit.deadlineMs, this.#s.dispatcher.queueTimeoutMs) + 3 * this.#s.tickMs;
    this.#at(dueMs, (atMs) => {
      if (this.#incarnation !== incarnation) return undefined;
      this.#count("answered_by_deadline");
      if (this.#tasks.get(submit.taskId).finalsSent === 0)
        this.#fail(atMs, "answered_by_deadline", `${submit.taskId}: no final answer ${atMs - nowMs} ms after arrival`);
      return undefined;
    });
  }

  /** The dispatcher core produced outputs. */
  dispatcherOut(nowMs: number, outputs: readonly DispatcherOutput[]): void {
    for (const output of outputs) {
      if (output.kind === "send") this.#dispatcherSent(nowMs, output.packet);
      else if (output.kind === "copy_started") this.#copyStarted(nowMs, output.taskId, output.calculatorId);
      else if (output.kind === "calculator_restarted") {
        const index = this.#s.calculatorIds.indexOf(output.calculatorId);
        const calc = this.#calcs[index];
        if (calc === undefined) continue;
        calc.detectedRestarts += 1;
        this.#count("restarts_detected_are_real");
        if (calc.detectedRestarts > calc.restarts)
          this.#fail(
            nowMs,
            "restarts_detected_are_real",
            `${output.calculatorId}: restart ${calc.detectedRestarts} detected, ${calc.restarts} real`,
          );
      }
      if (output.kind !== "send" && "taskId" in output) this.#copyChanged.add(output.taskId);
    }
  }

  #dispatcherSent(nowMs: number, packet: Packet): void {
    if ("taskId" in packet) this.taskPacketCount += 1;
    // A revived copy (replicated) shows only as an assign: its task's copies changed this step.
    if (packet.type === "task.assign") this.#copyChanged.add(packet.taskId);
    if (packet.type === "task.ack") {
      const task = this.#tasks.get(packet.taskId);
      task.toClient += 1;
      this.#checkToClient(nowMs, packet.taskId);
      this.#receipts.push({ taskId: packet.taskId, state: packet.state });
    } else if (packet.type === "task.result" || packet.type === "task.failed") {
      const task = this.#tasks.get(packet.taskId);
      task.finalsSent += 1;
      task.toClient += 1;
      this.#count("final_answers_once");
      if (task.finalsSent > 1 + task.requestsAfterFinal)
        this.#fail(
          nowMs,
          "final_answers_once",
          `${packet.taskId}: final answer ${task.finalsSent} after ${task.requestsAfterFinal} repeated requests`,
        );
      this.#checkToClient(nowMs, packet.taskId);
      if (packet.type === "task.result") this.#checkResult(nowMs, packet.taskId, packet.result);
      const early = packet.type === "task.failed" ? earlyDeadline(nowMs, packet, task, (c) => this.#count(c)) : "";
      if (early) this.#fail(nowMs, "deadline_not_early", early);
    }
  }
  /** Request/response accounting: one receipt plus one answer per request, no more. */
  #checkToClient(nowMs: number, taskId: string): void {
    const task = this.#tasks.get(taskId);
    this.#count("client_packets_per_request");
    if (task.toClient > task.requestsIn + 1)
      this.#fail(
        nowMs,
        "client_packets_per_request",
        `${taskId}: ${task.toClient} packets to the client for ${task.requestsIn} requests`,
      );
  }

  #checkResult(nowMs: number, taskId: string, result: string): void {
    const task = this.#tasks.get(taskId);
    const voters = task.voters.get(result)?.size ?? 0;
    this.#count("final_result_has_quorum");
    if (voters < this.#quorum)
      this.#fail(
        nowMs,
        "final_result_has_quorum",
        `${taskId}: final result sent by ${voters} calculators, quorum ${this.#quorum}`,
      );
    // Corrupt calculators are wrong each in their own way, so with q >= 2 they never agree on a result.
    const isCorrectExpected = this.#s.corruptCount === 0 || this.#quorumConfigured >= 2;
    if (task.input === undefined || task.rounds === undefined || !isCorrectExpected) return;
    this.#count("final_result_correct");
    if (result !== this.#s.truth(task.input, task.rounds))
      this.#fail(nowMs, "final_result_correct", `${taskId}: wrong result final (${voters} voters)`);
  }

  #copyStarted(nowMs: number, taskId: string, calculatorId: string): void {
    const task = this.#tasks.get(taskId);
    const starts = (task.copyStarts.get(calculatorId) ?? 0) + 1;
    task.copyStarts.set(calculatorId, starts);
    task.lastCopyStartMs.set(calculatorId, nowMs);
    this.#tasks.copyStartedEver(taskId, calculatorId, nowMs);
    if (this.#isReplicated) {
      this.#count("copies_within_max");
      if (task.copyStarts.size > this.#copiesMax)
        this.#fail(
          nowMs,
          "copies_within_max",
          `${taskId}: copies on ${task.copyStarts.size} calculators, max ${this.#copiesMax}`,
        );
      // A calculator runs one copy of a replicated task, unless it refused the earlier one (never ran
      // it) or restarted since (the dispatcher forgets a restarted calculator's copies).
      const refusals = task.refusals.get(calculatorId) ?? 0;
      const restarts = this.#calcs[this.#s.calculatorIds.indexOf(calculatorId)]?.detectedRestarts ?? 0;
      if (starts > 1 + refusals + restarts)
        this.#fail(nowMs, "copies_within_max", `${taskId}: ${starts} copies on ${calculatorId}, ${refusals} refused`);
    }
    // Replicated copies lost to a silent calculator are revived (with a new timeout) when it comes
    // back, without a copy_started: the age bound is checked for plain tasks only.
    if (this.#isReplicated) return;
    const index = this.#s.calculatorIds.indexOf(calculatorId);
    const incarnation = this.#incarnation;
    this.#at(nowMs + this.#s.dispatcher.taskTimeoutMs + 3 * this.#s.tickMs, (atMs) => {
      if (this.#incarnation !== incarnation || task.lastCopyStartMs.get(calculatorId) !== nowMs) return undefined;
      this.#count("copy_within_task_timeout");
      if (this.#holds(taskId, index))
        this.#fail(
          atMs,
          "copy_within_task_timeout",
          `${taskId}: copy on ${calculatorId} started at ${nowMs} still live`,
        );
      return undefined;
    });
  }

  /** A packet is about to reach calculator `index` (incarnation as counted by the simulation). */
  calculatorIn(nowMs: number, index: number, packet: Packet): void {
    if (packet.type !== "task.assign" && packet.type !== "task.cancel") return;
    const run = this.#tasks.run(index, this.#calcs[index]?.incarnation ?? 0, packet.taskId);
    run.requestsIn += 1;
    if (packet.type === "task.cancel" && run.cancelledMs === undefined) {
      run.cancelledMs = nowMs;
      this.#count("cancelled_copy_stops");
    }
  }

  /** Calculator `index` produced outputs. */
  calculatorOut(nowMs: number, index: number, outputs: readonly CalculatorOutput[]): void {
    const calculatorId = this.#s.calculatorIds[index] ?? "";
    const incarnation = this.#calcs[index]?.incarnation ?? 0;
    for (const output of outputs) {
      if (output.kind === "compute") {
        const run = this.#tasks.run(index, incarnation, output.taskId);
        run.executions += 1;
        run.startedMs = nowMs;
        const started = this.#tasks.copiesEver(output.taskId, calculatorId);
        this.#count("executions_started_by_dispatcher");
        if (run.executions > started)
          this.#fail(
            nowMs,
            "executions_started_by_dispatcher",
            `${output.taskId}: run ${run.executions} on ${calculatorId}, ${started} copies started there`,
          );
      } else if (output.kind === "task_finished") {
        const run = this.#tasks.run(index, incarnation, output.taskId);
        const cancelledMs = run.cancelledMs;
        if (cancelledMs === undefined) continue;
        const restartedMs = this.#tasks.lastCopyEverMs(output.taskId, calculatorId);
        if ((run.startedMs ?? 0) <= cancelledMs && restartedMs <= cancelledMs)
          this.#fail(
            nowMs,
            "cancelled_copy_stops",
            `${output.taskId}: ${calculatorId} finished after its cancel at ${cancelledMs}`,
          );
      } else if (output.kind === "send" && output.packet.type === "task.done") {
        this.#calculatorSentDone(nowMs, index, output.packet.taskId);
      }
      if (output.kind === "send" && (output.packet.type === "task.done" || output.packet.type === "task.ack")) {
        const run = this.#tasks.run(index, incarnation, output.packet.taskId);
        run.responsesOut += 1;
        this.#count("calculator_packets_per_request");
        // One answer per assign or cancel, plus one owed receipt per execution it started.
        if (run.responsesOut > run.requestsIn + run.executions)
          this.#fail(
            nowMs,
            "calculator_packets_per_request",
            `${output.packet.taskId}: ${calculatorId} sent ${run.responsesOut} answers to ${run.requestsIn} requests`,
          );
      }
    }
  }

  /** With no random loss, a result lost to a fault must be fetched again once the link is back. */
  #calculatorSentDone(nowMs: number, index: number, taskId: string): void {
    if (!this.#s.isLossFree) return;
    const incarnation = this.#calcs[index]?.incarnation;
    const dispatcherIncarnation = this.#incarnation;
    const bound = this.recoveryBoundMs;
    this.#count("lost_result_recovered");
    this.#at(nowMs + bound, (atMs) => {
      const calc = this.#calcs[index];
      if (calc === undefined || calc.incarnation !== incarnation || this.#incarnation !== dispatcherIncarnation)
        return undefined;
      if (!this.#holds(taskId, index)) return undefined;
      if (calc.upSinceMs === undefined) return atMs + bound;
      if (atMs - calc.upSinceMs < bound) return calc.upSinceMs + bound;
      this.#fail(
        atMs,
        "lost_result_recovered",
        `${taskId}: result of calc-${index} at ${nowMs} not fetched, link up since ${calc.upSinceMs}`,
      );
      return undefined;
    });
  }

  /** The simulation injected a fault on calculator `index` (see faults.ts for the kinds). */
  fault(nowMs: number, kind: string, index: number): void {
    const calc = this.#calcs[index];
    if (calc === undefined) return;
    switch (kind) {
      case "crash":
        calc.crashed = true;
        break;
      case "restart":
        calc.crashed = false;
        calc.incarnation += 1;
        calc.restarts += 1;
        this.#afterRestart(nowMs, index);
        break;
      case "freeze":
      case "thaw":
        calc.frozen = kind === "freeze";
        break;
      case "cut_up":
      case "cut_down":
      case "cut_both":
        calc.cutUp = kind !== "cut_down";
        calc.cutDown = kind !== "cut_up";
        break;
      case "heal":
        calc.cutUp = false;
        calc.cutDown = false;
        break;
      case "isolate":
      case "rejoin":
        calc.isolated = kind === "isolate";
        break;
    }
    const isHeard = !calc.crashed && !calc.frozen && !calc.cutUp && !calc.isolated;
    if (!isHeard && calc.downSinceMs === undefined) {
      calc.downSinceMs = nowMs;
      this.#afterDeath(nowMs, index);
    } else if (isHeard) calc.downSinceMs = undefined;
    const isUp = isHeard && !calc.cutDown;
    if (!isUp) calc.upSinceMs = undefined;
    else if (calc.upSinceMs === undefined) calc.upSinceMs = nowMs;
  }

  /** A calculator silent for good must lose every copy within the death bound. */
  #afterDeath(nowMs: number, index: number): void {
    const incarnation = this.#incarnation;
    this.#at(nowMs + this.deathBoundMs, (atMs) => {
      if (this.#incarnation !== incarnation || this.#calcs[index]?.downSinceMs !== nowMs) return undefined;
      this.#count("dead_calculator_copies_replaced");
      for (const taskId of this.#tasks.open())
        if (this.#holds(taskId, index))
          this.#fail(
            atMs,
            "dead_calculator_copies_replaced",
            `${taskId}: calc-${index} silent since ${nowMs}, copy still live`,
          );
      return undefined;
    });
  }

  /** A calculator that restarted must lose its older copies within the death bound (a restart is a death). */
  #afterRestart(nowMs: number, index: number): void {
    const incarnation = this.#incarnation;
    const calculatorId = this.#s.calculatorIds[index] ?? "";
    const calcIncarnation = this.#calcs[index]?.incarnation;
    this.#at(nowMs + this.deathBoundMs, (atMs) => {
      if (this.#incarnation !== incarnation) return undefined;
      // Down again before it was surely heard: the death check of that fault covers its copies.
      const calc = this.#calcs[index];
      if (calc?.incarnation !== calcIncarnation || calc?.downSinceMs !== undefined) return undefined;
      this.#count("restarted_calculator_copies_replaced");
      for (const taskId of this.#tasks.open()) {
        const startedMs = this.#tasks.get(taskId).lastCopyStartMs.get(calculatorId);
        if (startedMs !== undefined && startedMs < nowMs && this.#holds(taskId, index))
          this.#fail(
            atMs,
            "restarted_calculator_copies_replaced",
            `${taskId}: calc-${index} restarted at ${nowMs}, copy from ${startedMs} still live`,
          );
      }
      return undefined;
    });
  }

  /** End of a simulated step: receipts against the dispatcher's state, then the due timed checks. */
  endStep(nowMs: number): void {
    const core = this.#core;
    for (const { taskId, state } of this.#receipts) {
      if (core === undefined || this.#copyChanged.has(taskId)) continue;
      const actual = core.taskState(nowMs, taskId);
      if (actual !== "queued" && actual !== "running") continue;
      this.#count("receipt_matches_state");
      if (actual !== state) this.#fail(nowMs, "receipt_matches_state", `${taskId}: receipt ${state}, task ${actual}`);
    }
    this.#receipts = [];
    this.#copyChanged.clear();
    if (this.#timedDueMs > nowMs) return;
    const due = this.#timed.filter((timed) => timed.dueMs <= nowMs);
    this.#timed = this.#timed.filter((timed) => timed.dueMs > nowMs);
    this.#timedDueMs = this.#timed.reduce((min, timed) => Math.min(min, timed.dueMs), Number.POSITIVE_INFINITY);
    for (const timed of due) {
      const againMs = timed.run(nowMs);
      if (againMs !== undefined) this.#at(againMs, timed.run);
    }
  }
}
