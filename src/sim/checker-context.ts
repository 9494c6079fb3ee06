/**
 * What every part of the simulation's online checker shares: the run's settings, the violations and
 * check counts found so far, the timed checks waiting for their moment, the per-task accounting, the
 * ground truth per calculator (which one is really down, since when) and the current dispatcher core.
 * The checks themselves live in checker.ts (dispatcher side), calculator-checks.ts and fault-checks.ts.
 */
import type { DispatcherCore } from "../dispatcher/core.js";
import type { DispatcherCoreConfig } from "../dispatcher/types.js";
import { PerTask } from "./checker-state.js";

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

/** Ground truth about one calculator, kept by the simulation's faults (never by the cores). */
export interface CalculatorTruth {
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
}

interface Timed {
  readonly dueMs: number;
  /** Runs the check; returns a later time to run it again, or undefined when settled. */
  readonly run: (nowMs: number) => number | undefined;
}

/** Violations kept per run at most (a broken core fails the same check thousands of times). */
const VIOLATIONS_MAX = 20;

/** The checker's shared state; see the file comment. */
export class CheckContext {
  readonly settings: SimCheckerSettings;
  readonly violations: Violation[] = [];
  /** Checks performed, by name (a check that never runs proves nothing; tests look at this). */
  readonly checkCounts = new Map<string, number>();
  readonly tasks = new PerTask();
  /** Ground truth per calculator index. BOUNDED: the number of calculators. */
  readonly calcs: CalculatorTruth[];
  /** The dispatcher incarnation (1 for the first core). */
  incarnation = 0;
  core: DispatcherCore | undefined;
  /** BOUNDED: a few timed checks per task and per fault of a finite run. */
  #timed: Timed[] = [];
  #timedDueMs = Number.POSITIVE_INFINITY;

  constructor(settings: SimCheckerSettings) {
    this.settings = settings;
    this.calcs = settings.calculatorIds.map(() => ({
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
    return this.settings.dispatcher.heartbeatTimeoutMs + this.settings.delayBoundMs + 3 * this.settings.tickMs;
  }

  /** Time within which a result lost on the way must be fetched again by a resend or probe (ms). */
  get recoveryBoundMs(): number {
    const d = this.settings.dispatcher;
    return Math.max(d.probeIntervalMs, ...d.assignRetryMs) + 2 * this.settings.delayBoundMs + 3 * this.settings.tickMs;
  }

  /** Records a failed check (the first VIOLATIONS_MAX are kept). */
  fail(atMs: number, check: string, detail: string): void {
    if (this.violations.length < VIOLATIONS_MAX) this.violations.push({ atMs, check, detail });
  }

  /** Counts one performed check. */
  count(check: string): void {
    this.checkCounts.set(check, (this.checkCounts.get(check) ?? 0) + 1);
  }

  /** Runs `run` at `dueMs` (or the first step after it); it may ask to run again later. */
  at(dueMs: number, run: (nowMs: number) => number | undefined): void {
    this.#timed.push({ dueMs, run });
    this.#timedDueMs = Math.min(this.#timedDueMs, dueMs);
  }

  /** Runs the timed checks due at `nowMs`. */
  runDue(nowMs: number): void {
    if (this.#timedDueMs > nowMs) return;
    const due = this.#timed.filter((timed) => timed.dueMs <= nowMs);
    this.#timed = this.#timed.filter((timed) => timed.dueMs > nowMs);
    this.#timedDueMs = this.#timed.reduce((min, timed) => Math.min(min, timed.dueMs), Number.POSITIVE_INFINITY);
    for (const timed of due) {
      const againMs = timed.run(nowMs);
      if (againMs !== undefined) this.at(againMs, timed.run);
    }
  }

  /** Whether the current dispatcher holds a copy of `taskId` on calculator `index`. */
  holds(taskId: string, index: number): boolean {
    return this.core?.holdersOf(taskId).includes(this.settings.calculatorIds[index] ?? "") ?? false;
  }

  /** Index of a calculator by node id (-1 when it is not one of the run's calculators). */
  indexOf(calculatorId: string): number {
    return this.settings.calculatorIds.indexOf(calculatorId);
  }
}
