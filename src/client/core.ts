/**
 * The client as a deterministic state machine: sends tasks at random intervals (or keeps a window
 * outstanding), retransmits each submit until it is answered or requestTimeoutMs passes, verifies
 * every result, counts duplicates, and reports when a bounded run has ended.
 */

import { PROTOCOL_VERSION } from "../protocol/limits.js";
import type { Packet } from "../protocol/packet.js";
import type { TaskFailed, TaskId, TaskResult } from "../protocol/packets.js";
import { RetransmitTable } from "../reliable/retransmit-table.js";
import { type RetryPolicy, retryPolicy } from "../reliable/retry-policy.js";
import { assert } from "../runtime/assert.js";
import { BoundedMap } from "../runtime/bounded-map.js";
import { type Rng, randomBetween } from "../runtime/rng.js";
import type { Endpoint } from "../transport/transport.js";
import type { ClientCoreConfig, ClientOutput, TaskRecord } from "./types.js";

interface PendingTask {
  readonly taskId: TaskId;
  readonly input: string;
  readonly rounds: number;
  readonly firstSentMs: number;
  isAcked: boolean;
  /** Cancel asked: the request resent is `task.cancel`, until the final answer (`cancelled` or earlier) arrives. */
  isCancelling: boolean;
}

/** Capabilities the core needs from outside: ids, verification and randomness. */
export interface ClientCoreDeps {
  readonly rng: Rng;
  readonly newTaskId: () => TaskId;
  /** True when `result` is the correct digest of `{input, rounds}`. */
  readonly verify: (input: string, rounds: number, result: string) => boolean;
}

const INPUT_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
/** How long answered ids are remembered to recognise duplicates (ms). */
const ANSWERED_TTL_MS = 10 * 60_000;

/** Deterministic client state machine. */
export class ClientCore {
  readonly #config: ClientCoreConfig;
  readonly #deps: ClientCoreDeps;
  /** BOUNDED: config.pendingMax (the table refuses beyond it). */
  readonly #pending: RetransmitTable<TaskId, PendingTask>;
  /** Ended tasks: true when answered, false when given up as unanswered. BOUNDED: config.answeredCacheMax ids for ANSWERED_TTL_MS. */
  readonly #answered: BoundedMap<TaskId, boolean>;
  readonly #submitPolicy: RetryPolicy;
  readonly #keepalivePolicy: RetryPolicy;
  readonly #startMs: number;
  #nextSendMs: number;
  #sentCount = 0;
  /** Submits (or cancels) sent again because the dispatcher had not acknowledged them yet. */
  #resentCount = 0;
  /** Answers whose result needed more than one copy (`attempts` > 1): re-placed, as seen from here. */
  #replacedSeenCount = 0;
  #isSending = true;
  #hasFinished = false;

  constructor(config: ClientCoreConfig, deps: ClientCoreDeps, startMs: number) {
    assert(config.intervalMs.min >= 0 && config.intervalMs.min <= config.intervalMs.max, "bad intervalMs range");
    assert(config.requestTimeoutMs > 0, "requestTimeoutMs must be positive");
    assert(config.concurrency === undefined || config.concurrency >= 1, "concurrency must be at least 1");
    assert((config.concurrency ?? 0) <= config.pendingMax, "concurrency must not exceed pendingMax");
    this.#config = config;
    this.#deps = deps;
    this.#pending = new RetransmitTable(config.pendingMax);
    this.#answered = new BoundedMap(config.answeredCacheMax, ANSWERED_TTL_MS);
    this.#submitPolicy = retryPolicy(config.submitRetryMs);
    this.#keepalivePolicy = retryPolicy([config.keepaliveMs]);
    this.#startMs = startMs;
    this.#nextSendMs = startMs;
  }

  get sentCount(): number {
    return this.#sentCount;
  }

  /** Submits sent again before an acknowledgement (lost datagrams, a slow or absent dispatcher). */
  get resentCount(): number {
    return this.#resentCount;
  }

  /** Successful answers that say (`attempts` > 1) the task needed more than one copy. */
  get replacedSeenCount(): number {
    return this.#replacedSeenCount;
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  get isSending(): boolean {
    return this.#isSending;
  }

  /** Stops sending new tasks; outstanding ones are still awaited until answered or timed out. */
  stopSending(): void {
    this.#isSending = false;
  }

  /** Gives up on every outstanding task now (the client is stopping): each ends `unanswered`. */
  abandonAll(nowMs: number): ClientOutput[] {
    this.#isSending = false;
    const outputs: ClientOutput[] = [];
    for (const task of [...this.#pending.values()]) this.#end(nowMs, task, "unanswered", null, null, outputs);
    return outputs;
  }

  onPacket(nowMs: number, _from: Endpoint, packet: Packet): ClientOutput[] {
    switch (packet.type) {
      case "task.result":
      case "task.failed":
        return this.#onAnswer(nowMs, packet);
      case "task.ack": {
        const task = this.#pending.get(packet.taskId);
        if (task !== undefined && !task.isAcked) {
          task.isAcked = true;
          this.#pending.reschedule(nowMs, task.taskId, this.#keepalivePolicy);
        }
        return [];
      }
      default:
        return [];
    }
  }

  /**
   * The earliest time (ms) onTick has something to do: the next send (or at once while a window has
   * room or a bounded run must end), a retransmission or keepalive, a request timing out, the end of
   * the run's duration, the `finished` report. It may be early, never late. Undefined when the run
   * has finished and nothing is outstanding.
   */
  nextDeadlineMs(): number | undefined {
    const { concurrency, countMax, durationMs } = this.#config;
    let dueMs = this.#pending.nextDueMs() ?? Number.POSITIVE_INFINITY;
    const oldest = this.#pending.oldest(); // first sent first: its request times out first
    if (oldest !== undefined) dueMs = Math.min(dueMs, oldest.firstSentMs + this.#config.requestTimeoutMs);
    if (this.#isSending) {
      const hasRoom = concurrency !== undefined && this.#pending.size < concurrency;
      const isCountDone = countMax !== undefined && this.#sentCount >= countMax;
      if (hasRoom || isCountDone) return Number.NEGATIVE_INFINITY;
      if (concurrency === undefined) dueMs = Math.min(dueMs, this.#nextSendMs);
      if (durationMs !== undefined) dueMs = Math.min(dueMs, this.#startMs + durationMs);
    } else if (this.#pending.size === 0 && !this.#hasFinished) {
      return Number.NEGATIVE_INFINITY;
    }
    return dueMs === Number.POSITIVE_INFINITY ? undefined : dueMs;
  }

  /** Sends what is due, retransmits, times out, and says `finished` once a bounded run is over. */
  onTick(nowMs: number): ClientOutput[] {
    const outputs: ClientOutput[] = [];
    this.#updateSending(nowMs);
    if (this.#isSending) this.#sendDue(nowMs, outputs);
    // Oldest first: the first task still inside requestTimeoutMs ends the scan (insertion = send order).
    for (let task = this.#pending.oldest(); task !== undefined; task = this.#pending.oldest()) {
      if (nowMs - task.firstSentMs < this.#config.requestTimeoutMs) break;
      this.#end(nowMs, task, "unanswered", null, null, outputs);
    }
    for (const { value: task } of this.#pending.due(nowMs)) {
      if (!task.isAcked) this.#resentCount += 1; // an acknowledged task's repeat is a keepalive
      outputs.push(this.#submit(task));
    }
    this.#answered.prune(nowMs);
    if (!this.#isSending && this.#pending.size === 0 && !this.#hasFinished) {
      this.#hasFinished = true;
      outputs.push({ kind: "finished" });
    }
    return outputs;
  }

  #updateSending(nowMs: number): void {
    const { countMax, durationMs } = this.#config;
    if (countMax !== undefined && this.#sentCount >= countMax) this.#isSending = false;
    if (durationMs !== undefined && nowMs - this.#startMs >= durationMs) this.#isSending = false;
  }

  #sendDue(nowMs: number, outputs: ClientOutput[]): void {
    const { concurrency, countMax } = this.#config;
    if (concurrency !== undefined) {
      while (this.#pending.size < concurrency && (countMax === undefined || this.#sentCount < countMax)) {
        this.#sendNew(nowMs, outputs);
      }
      return;
    }
    if (nowMs < this.#nextSendMs) return;
    this.#nextSendMs = nowMs + randomBetween(this.#deps.rng, this.#config.intervalMs.min, this.#config.intervalMs.max);
    if (this.#pending.isFull) outputs.push({ kind: "send_skipped", reason: "pending_full" });
    else this.#sendNew(nowMs, outputs);
  }

  /** Sends one new task now (also used by the operator CLI for a single submit). */
  submitNew(nowMs: number, input?: string, rounds?: number): ClientOutput[] {
    const outputs: ClientOutput[] = [];
    this.#sendNew(nowMs, outputs, input, rounds);
    return outputs;
  }

  #sendNew(nowMs: number, outputs: ClientOutput[], input?: string, rounds?: number): void {
    const task: PendingTask = {
      taskId: this.#deps.newTaskId(),
      input: input ?? this.#randomInput(),
      rounds: rounds ?? this.#config.rounds,
      firstSentMs: nowMs,
      isAcked: false,
      isCancelling: false,
    };
    if (!this.#pending.add(nowMs, task.taskId, task, this.#submitPolicy)) {
      outputs.push({ kind: "send_skipped", reason: "pending_full" });
      return;
    }
    this.#sentCount += 1;
    outputs.push({ kind: "task_sent", taskId: task.taskId }, this.#submit(task));
  }

  /**
   * Asks the dispatcher to cancel an outstanding task (SPEC 5.8): `task.cancel` is sent now and resent
   * like a submit until the final answer arrives, which ends the task as usual (failed `cancelled`, or
   * its result if it was already final). Idempotent; an unknown or ended task gives no output.
   */
  cancel(nowMs: number, taskId: TaskId): ClientOutput[] {
    const task = this.#pending.get(taskId);
    if (task === undefined || task.isCancelling) return [];
    task.isCancelling = true;
    task.isAcked = false;
    this.#pending.reschedule(nowMs, taskId, this.#submitPolicy);
    return [this.#submit(task)];
  }

  #onAnswer(nowMs: number, packet: TaskResult | TaskFailed): ClientOutput[] {
    const task = this.#pending.get(packet.taskId);
    if (task === undefined) {
      const wasAnswered = this.#answered.get(nowMs, packet.taskId);
      if (wasAnswered === true) return [{ kind: "duplicate_answer", taskId: packet.taskId }];
      return wasAnswered === false ? [{ kind: "late_answer", taskId: packet.taskId }] : [];
    }
    const outputs: ClientOutput[] = [];
    if (packet.type === "task.failed") {
      this.#end(nowMs, task, "failed", null, packet.reason, outputs);
    } else if (this.#deps.verify(task.input, task.rounds, packet.result)) {
      if (packet.attempts > 1) this.#replacedSeenCount += 1;
      this.#end(nowMs, task, "ok", packet.result, null, outputs);
    } else {
      this.#end(nowMs, task, "failed", packet.result, "wrong_result", outputs);
    }
    if (this.#config.concurrency !== undefined) {
      // Closed loop: refill the window now, not at the next tick, so a window of W keeps W in flight.
      this.#updateSending(nowMs);
      if (this.#isSending) this.#sendDue(nowMs, outputs);
    }
    return outputs;
  }

  #end(
    nowMs: number,
    task: PendingTask,
    outcome: TaskRecord["outcome"],
    result: string | null,
    reason: string | null,
    outputs: ClientOutput[],
  ): void {
    this.#pending.settle(task.taskId);
    this.#answered.set(nowMs, task.taskId, outcome !== "unanswered");
    const record: TaskRecord = {
      id: task.taskId,
      outcome,
      input: task.input,
      rounds: task.rounds,
      result,
      latencyMs: outcome === "unanswered" ? null : Math.round((nowMs - task.firstSentMs) * 1_000) / 1_000,
      reason,
    };
    outputs.push({ kind: "task_ended", record, isWrong: reason === "wrong_result", firstSentMs: task.firstSentMs });
  }

  #submit(task: PendingTask): ClientOutput {
    if (task.isCancelling) {
      return {
        kind: "send",
        to: this.#config.dispatcher,
        packet: { v: PROTOCOL_VERSION, type: "task.cancel", from: this.#config.clientId, taskId: task.taskId },
      };
    }
    return {
      kind: "send",
      to: this.#config.dispatcher,
      packet: {
        v: PROTOCOL_VERSION,
        type: "task.submit",
        from: this.#config.clientId,
        taskId: task.taskId,
        input: task.input,
        rounds: task.rounds,
        ...(this.#config.priority === undefined || this.#config.priority === 0
          ? {}
          : { priority: this.#config.priority }),
        ...(this.#config.deadlineMs === undefined ? {} : { deadlineMs: this.#config.deadlineMs }),
      },
    };
  }

  #randomInput(): string {
    let input = "";
    for (let i = 0; i < this.#config.inputChars; i += 1) {
      input += INPUT_ALPHABET[Math.floor(this.#deps.rng() * INPUT_ALPHABET.length)];
    }
    return input;
  }
}
