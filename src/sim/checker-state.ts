/**
 * The checker's accounting per task (reset for each dispatcher incarnation, which starts with no
 * memory) and per execution on a calculator incarnation, plus what outlives dispatcher restarts:
 * which copies any dispatcher ever started on which calculator.
 */

/** One task as seen by the current dispatcher incarnation. */
export interface TaskAccount {
  arrivedMs: number | undefined;
  /** The submit's own deadlineMs, if it carried one. */
  deadlineMs: number | undefined;
  input: string | undefined;
  rounds: number | undefined;
  /** Submits and cancels delivered to the dispatcher, and those delivered after its first final answer. */
  requestsIn: number;
  requestsAfterFinal: number;
  finalsSent: number;
  /** Receipts and final answers sent to the client. */
  toClient: number;
  /** Calculators whose result for this task reached the dispatcher, by result. */
  readonly voters: Map<string, Set<string>>;
  /** Copies started per calculator, and when the latest one started. */
  readonly copyStarts: Map<string, number>;
  readonly lastCopyStartMs: Map<string, number>;
  /** Refusals (busy, or cancelled for a copy it does not run) per calculator. */
  readonly refusals: Map<string, number>;
  /** A busy refusal from this calculator arrived for a copy the dispatcher held there. */
  busyPending: string | undefined;
}

/** One task on one calculator incarnation. */
export interface RunAccount {
  /** Assigns and cancels delivered, and task.done / task.ack sent in answer. */
  requestsIn: number;
  responsesOut: number;
  executions: number;
  startedMs: number | undefined;
  cancelledMs: number | undefined;
}

/** BOUNDED: one entry per task and per task run of a simulation (runs are finite). */
export class PerTask {
  #tasks = new Map<string, TaskAccount>();
  readonly #runs = new Map<string, RunAccount>();
  /** Copies any dispatcher incarnation started, per "taskId calculatorId": count and latest start. */
  readonly #everCount = new Map<string, number>();
  readonly #everLastMs = new Map<string, number>();

  newIncarnation(): void {
    this.#tasks = new Map();
  }

  get(taskId: string): TaskAccount {
    let task = this.#tasks.get(taskId);
    if (task === undefined) {
      task = {
        arrivedMs: undefined,
        deadlineMs: undefined,
        input: undefined,
        rounds: undefined,
        requestsIn: 0,
        requestsAfterFinal: 0,
        finalsSent: 0,
        toClient: 0,
        voters: new Map(),
        copyStarts: new Map(),
        lastCopyStartMs: new Map(),
        refusals: new Map(),
        busyPending: undefined,
      };
      this.#tasks.set(taskId, task);
    }
    return task;
  }

  /** Tasks that arrived at the current dispatcher and have no final answer yet. */
  *open(): Generator<string> {
    for (const [taskId, task] of this.#tasks) if (task.arrivedMs !== undefined && task.finalsSent === 0) yield taskId;
  }

  run(index: number, incarnation: number, taskId: string): RunAccount {
    const key = `${index}/${incarnation}/${taskId}`;
    let run = this.#runs.get(key);
    if (run === undefined) {
      run = { requestsIn: 0, responsesOut: 0, executions: 0, startedMs: undefined, cancelledMs: undefined };
      this.#runs.set(key, run);
    }
    return run;
  }

  copyStartedEver(taskId: string, calculatorId: string, nowMs: number): void {
    const key = `${taskId} ${calculatorId}`;
    this.#everCount.set(key, (this.#everCount.get(key) ?? 0) + 1);
    this.#everLastMs.set(key, nowMs);
  }

  copiesEver(taskId: string, calculatorId: string): number {
    return this.#everCount.get(`${taskId} ${calculatorId}`) ?? 0;
  }

  lastCopyEverMs(taskId: string, calculatorId: string): number {
    return this.#everLastMs.get(`${taskId} ${calculatorId}`) ?? Number.NEGATIVE_INFINITY;
  }
}

/** SPEC 8: the time (ms from arrival) to a task's final answer: its own deadlineMs, capped at queueTimeoutMs. */
export function answerBoundMs(deadlineMs: number | undefined, queueTimeoutMs: number): number {
  return Math.min(deadlineMs ?? Number.POSITIVE_INFINITY, queueTimeoutMs);
}

/**
 * Judges a `task.failed` sent at nowMs (counting the check when its reason is `deadline`): "" when
 * it is right or not a deadline failure, else what is wrong (it may only go to a task whose submit carried a
 * deadline, and never before that deadline passed).
 */
export function earlyDeadline(
  nowMs: number,
  packet: { taskId: string; reason: string },
  task: TaskAccount,
  count: (check: "deadline_not_early") => void,
): string {
  if (packet.reason !== "deadline") return "";
  count("deadline_not_early");
  const { arrivedMs, deadlineMs } = task;
  if (arrivedMs !== undefined && deadlineMs !== undefined && nowMs >= arrivedMs + deadlineMs) return "";
  return `${packet.taskId}: failed deadline at ${nowMs} ms, due ${arrivedMs} + ${deadlineMs}`;
}
