/**
 * The simulation's online checker: what a checker of a real distributed system checks, fed with every
 * packet a core receives, every output it produces and every fault the simulation injects, and
 * compared against ground truth the cores do not have (which calculator is really down, since when,
 * the true result of each task). Checks are exact request/response accounting and time bounds
 * derived from the configuration; each violation names its check and its time. See docs/TESTING.md.
 */
import type { CalculatorOutput } from "../calculator/types.js";
import type { DispatcherCore } from "../dispatcher/core.js";
import type { DispatcherOutput } from "../dispatcher/types.js";
import type { Packet } from "../protocol/packet.js";
import { CalculatorChecks } from "./calculator-checks.js";
import { CheckContext, type SimCheckerSettings, type Violation } from "./checker-context.js";
import { answerBoundMs, earlyDeadline } from "./checker-state.js";
import { FaultChecks } from "./fault-checks.js";

export type { SimCheckerSettings, Violation } from "./checker-context.js";

/** The online checker of one simulation run. */
export class SimChecker {
  /** Task packets (those naming a task) the dispatcher received and sent: its datagrams per task, bounded. */
  taskPacketCount = 0;
  readonly #c: CheckContext;
  readonly #calculators: CalculatorChecks;
  readonly #faults: FaultChecks;
  readonly #quorum: number;
  /** The configured quorum (#quorum is 1 under adaptive trust). */
  readonly #quorumConfigured: number;
  readonly #copiesMax: number;
  readonly #isReplicated: boolean;
  /** Receipts sent this step, checked against the dispatcher's state at the end of the step. */
  #receipts: { taskId: string; state: string }[] = [];
  /** Tasks whose copies changed this step (a receipt may describe the state before the change). */
  readonly #copyChanged = new Set<string>();

  constructor(settings: SimCheckerSettings) {
    this.#c = new CheckContext(settings);
    this.#calculators = new CalculatorChecks(this.#c);
    this.#faults = new FaultChecks(this.#c);
    const replication = settings.dispatcher.replication;
    // Adaptive trust runs some tasks as one copy: one voter may be final there (the correctness check
    // still holds, since an always-corrupt calculator never earns trust).
    this.#quorumConfigured = replication?.quorum ?? 1;
    this.#quorum = replication?.adaptive === true ? 1 : this.#quorumConfigured;
    this.#isReplicated = (replication?.factor ?? 1) > 1 || this.#quorumConfigured > 1;
    const maxCopies = replication?.maxCopies ?? replication?.factor ?? 1;
    this.#copiesMax = maxCopies * (settings.dispatcher.hedging?.enabled === true ? 2 : 1);
  }

  /** Failed checks so far (the first 20). */
  get violations(): Violation[] {
    return this.#c.violations;
  }

  /** Checks performed, by name (a check that never runs proves nothing; tests look at this). */
  get checkCounts(): Map<string, number> {
    return this.#c.checkCounts;
  }

  /** Time within which the dispatcher must notice a silent calculator and take its copies back (ms). */
  get deathBoundMs(): number {
    return this.#c.deathBoundMs;
  }

  /** Time within which a result lost on the way must be fetched again by a resend or probe (ms). */
  get recoveryBoundMs(): number {
    return this.#c.recoveryBoundMs;
  }

  /** A (new) dispatcher incarnation: its per-incarnation accounting starts empty. */
  attachDispatcher(core: DispatcherCore): void {
    this.#c.core = core;
    this.#c.incarnation += 1;
    this.#c.tasks.newIncarnation();
  }

  /** A packet is about to reach the dispatcher core. */
  dispatcherIn(nowMs: number, packet: Packet): void {
    if ("taskId" in packet) this.taskPacketCount += 1;
    if (packet.type === "task.submit" || packet.type === "task.cancel") {
      const task = this.#c.tasks.get(packet.taskId);
      task.requestsIn += 1;
      if (task.finalsSent > 0) task.requestsAfterFinal += 1;
      if (packet.type === "task.submit" && task.arrivedMs === undefined) this.#onArrival(nowMs, packet);
    } else if (packet.type === "task.done") {
      const task = this.#c.tasks.get(packet.taskId);
      const voters = task.voters.get(packet.result) ?? new Set<string>();
      voters.add(packet.from);
      task.voters.set(packet.result, voters);
    }
    if (packet.type === "task.ack" && (packet.state === "busy" || packet.state === "cancelled")) {
      const task = this.#c.tasks.get(packet.taskId);
      task.refusals.set(packet.from, (task.refusals.get(packet.from) ?? 0) + 1);
    }
    if (packet.type === "task.ack" && packet.state === "busy") {
      const index = this.#c.indexOf(packet.from);
      const wasHeld = index >= 0 && this.#c.holds(packet.taskId, index);
      this.#c.tasks.get(packet.taskId).busyPending = wasHeld ? packet.from : undefined;
    }
  }

  /** The dispatcher core handled a packet (checks that compare before and after). */
  dispatcherHandled(nowMs: number, packet: Packet): void {
    if (packet.type !== "task.ack" || packet.state !== "busy") return;
    const task = this.#c.tasks.get(packet.taskId);
    if (task.busyPending === undefined) return;
    this.#c.count("busy_takes_copy_back");
    const index = this.#c.indexOf(task.busyPending);
    if (this.#c.holds(packet.taskId, index))
      this.#c.fail(nowMs, "busy_takes_copy_back", `${packet.taskId}: ${task.busyPending} refused (busy), copy kept`);
    task.busyPending = undefined;
  }

  #onArrival(nowMs: number, submit: Extract<Packet, { type: "task.submit" }>): void {
    const task = this.#c.tasks.get(submit.taskId);
    Object.assign(task, { arrivedMs: nowMs, deadlineMs: submit.deadlineMs });
    task.input = submit.input;
    task.rounds = submit.rounds;
    const incarnation = this.#c.incarnation;
    const dueMs =
      nowMs +
      answerBoundMs(submit.deadlineMs, this.#c.settings.dispatcher.queueTimeoutMs) +
      3 * this.#c.settings.tickMs;
    this.#c.at(dueMs, (atMs) => {
      if (this.#c.incarnation !== incarnation) return undefined;
      this.#c.count("answered_by_deadline");
      if (this.#c.tasks.get(submit.taskId).finalsSent === 0)
        this.#c.fail(
          atMs,
          "answered_by_deadline",
          `${submit.taskId}: no final answer ${atMs - nowMs} ms after arrival`,
        );
      return undefined;
    });
  }

  /** The dispatcher core produced outputs. */
  dispatcherOut(nowMs: number, outputs: readonly DispatcherOutput[]): void {
    for (const output of outputs) {
      if (output.kind === "send") this.#dispatcherSent(nowMs, output.packet);
      else if (output.kind === "copy_started") this.#copyStarted(nowMs, output.taskId, output.calculatorId);
      else if (output.kind === "calculator_restarted") {
        const index = this.#c.indexOf(output.calculatorId);
        const calc = this.#c.calcs[index];
        if (calc === undefined) continue;
        calc.detectedRestarts += 1;
        this.#c.count("restarts_detected_are_real");
        if (calc.detectedRestarts > calc.restarts)
          this.#c.fail(
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
      const task = this.#c.tasks.get(packet.taskId);
      task.toClient += 1;
      this.#checkToClient(nowMs, packet.taskId);
      this.#receipts.push({ taskId: packet.taskId, state: packet.state });
    } else if (packet.type === "task.result" || packet.type === "task.failed") {
      const task = this.#c.tasks.get(packet.taskId);
      task.finalsSent += 1;
      task.toClient += 1;
      this.#c.count("final_answers_once");
      if (task.finalsSent > 1 + task.requestsAfterFinal)
        this.#c.fail(
          nowMs,
          "final_answers_once",
          `${packet.taskId}: final answer ${task.finalsSent} after ${task.requestsAfterFinal} repeated requests`,
        );
      this.#checkToClient(nowMs, packet.taskId);
      if (packet.type === "task.result") this.#checkResult(nowMs, packet.taskId, packet.result);
      const early = packet.type === "task.failed" ? earlyDeadline(nowMs, packet, task, (c) => this.#c.count(c)) : "";
      if (early) this.#c.fail(nowMs, "deadline_not_early", early);
    }
  }
  /** Request/response accounting: one receipt plus one answer per request, no more. */
  #checkToClient(nowMs: number, taskId: string): void {
    const task = this.#c.tasks.get(taskId);
    this.#c.count("client_packets_per_request");
    if (task.toClient > task.requestsIn + 1)
      this.#c.fail(
        nowMs,
        "client_packets_per_request",
        `${taskId}: ${task.toClient} packets to the client for ${task.requestsIn} requests`,
      );
  }

  #checkResult(nowMs: number, taskId: string, result: string): void {
    const task = this.#c.tasks.get(taskId);
    const voters = task.voters.get(result)?.size ?? 0;
    this.#c.count("final_result_has_quorum");
    if (voters < this.#quorum)
      this.#c.fail(
        nowMs,
        "final_result_has_quorum",
        `${taskId}: final result sent by ${voters} calculators, quorum ${this.#quorum}`,
      );
    // Corrupt calculators are wrong each in their own way, so with q >= 2 they never agree on a result.
    const isCorrectExpected = this.#c.settings.corruptCount === 0 || this.#quorumConfigured >= 2;
    if (task.input === undefined || task.rounds === undefined || !isCorrectExpected) return;
    this.#c.count("final_result_correct");
    if (result !== this.#c.settings.truth(task.input, task.rounds))
      this.#c.fail(nowMs, "final_result_correct", `${taskId}: wrong result final (${voters} voters)`);
  }

  #copyStarted(nowMs: number, taskId: string, calculatorId: string): void {
    const task = this.#c.tasks.get(taskId);
    const starts = (task.copyStarts.get(calculatorId) ?? 0) + 1;
    task.copyStarts.set(calculatorId, starts);
    task.lastCopyStartMs.set(calculatorId, nowMs);
    this.#c.tasks.copyStartedEver(taskId, calculatorId, nowMs);
    if (this.#isReplicated) {
      this.#c.count("copies_within_max");
      if (task.copyStarts.size > this.#copiesMax)
        this.#c.fail(
          nowMs,
          "copies_within_max",
          `${taskId}: copies on ${task.copyStarts.size} calculators, max ${this.#copiesMax}`,
        );
      // A calculator runs one copy of a replicated task, unless it refused the earlier one (never ran
      // it) or restarted since (the dispatcher forgets a restarted calculator's copies).
      const refusals = task.refusals.get(calculatorId) ?? 0;
      const restarts = this.#c.calcs[this.#c.indexOf(calculatorId)]?.detectedRestarts ?? 0;
      if (starts > 1 + refusals + restarts)
        this.#c.fail(nowMs, "copies_within_max", `${taskId}: ${starts} copies on ${calculatorId}, ${refusals} refused`);
    }
    // Replicated copies lost to a silent calculator are revived (with a new timeout) when it comes
    // back, without a copy_started: the age bound is checked for plain tasks only.
    if (this.#isReplicated) return;
    const index = this.#c.indexOf(calculatorId);
    const incarnation = this.#c.incarnation;
    this.#c.at(nowMs + this.#c.settings.dispatcher.taskTimeoutMs + 3 * this.#c.settings.tickMs, (atMs) => {
      if (this.#c.incarnation !== incarnation || task.lastCopyStartMs.get(calculatorId) !== nowMs) return undefined;
      this.#c.count("copy_within_task_timeout");
      if (this.#c.holds(taskId, index))
        this.#c.fail(
          atMs,
          "copy_within_task_timeout",
          `${taskId}: copy on ${calculatorId} started at ${nowMs} still live`,
        );
      return undefined;
    });
  }

  /** A packet is about to reach calculator `index` (incarnation as counted by the simulation). */
  calculatorIn(nowMs: number, index: number, packet: Packet): void {
    this.#calculators.calculatorIn(nowMs, index, packet);
  }

  /** Calculator `index` produced outputs. */
  calculatorOut(nowMs: number, index: number, outputs: readonly CalculatorOutput[]): void {
    this.#calculators.calculatorOut(nowMs, index, outputs);
  }

  /** The simulation injected a fault on calculator `index` (see faults.ts for the kinds). */
  fault(nowMs: number, kind: string, index: number): void {
    this.#faults.fault(nowMs, kind, index);
  }

  /** End of a simulated step: receipts against the dispatcher's state, then the due timed checks. */
  endStep(nowMs: number): void {
    const core = this.#c.core;
    for (const { taskId, state } of this.#receipts) {
      if (core === undefined || this.#copyChanged.has(taskId)) continue;
      const actual = core.taskState(nowMs, taskId);
      if (actual !== "queued" && actual !== "running") continue;
      this.#c.count("receipt_matches_state");
      if (actual !== state) this.#c.fail(nowMs, "receipt_matches_state", `${taskId}: receipt ${state}, task ${actual}`);
    }
    this.#receipts = [];
    this.#copyChanged.clear();
    this.#c.runDue(nowMs);
  }
}
