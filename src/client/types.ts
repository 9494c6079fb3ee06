/**
 * Inputs and outputs of the client core. The shell performs sends, records latencies, writes the
 * per-task results file and prints statistics.
 */
import type { Packet } from "../protocol/packet.js";
import type { NodeId, TaskId } from "../protocol/packets.js";
import type { Endpoint } from "../transport/transport.js";

/** How a task ended, as the client saw it (SPEC section 2, `--results`). */
export type TaskOutcome = "ok" | "failed" | "unanswered";

/** One line of the `--results` file. */
export interface TaskRecord {
  readonly id: TaskId;
  readonly outcome: TaskOutcome;
  readonly input: string;
  readonly rounds: number;
  readonly result: string | null;
  readonly latencyMs: number | null;
  /** Non-empty on every `failed` record: the dispatcher's reason, or `wrong_result`. */
  readonly reason: string | null;
}

/** Settings of the client core (times in ms). */
export interface ClientCoreConfig {
  readonly clientId: NodeId;
  readonly dispatcher: Endpoint;
  readonly intervalMs: { readonly min: number; readonly max: number };
  readonly requestTimeoutMs: number;
  readonly rounds: number;
  /** Send this many tasks, then stop sending (undefined: no limit). */
  readonly countMax: number | undefined;
  /** Stop sending this long after start (undefined: no limit). */
  readonly durationMs: number | undefined;
  /** Closed loop: keep this many tasks outstanding instead of waiting intervalMs (undefined: open loop). */
  readonly concurrency: number | undefined;
  /** Resend delays of a submit before the dispatcher acknowledged it. */
  readonly submitRetryMs: readonly number[];
  /** After a receipt, the submit is repeated this often (finds a restarted dispatcher, recovers a lost answer). */
  readonly keepaliveMs: number;
  /** Tasks outstanding at most; open-loop sends beyond it are skipped and counted. */
  readonly pendingMax: number;
  /** Answered task ids remembered to count duplicate answers. */
  readonly answeredCacheMax: number;
  /** Characters of each random task input. */
  readonly inputChars: number;
  /** Priority of every task sent, 0..9 (SPEC 8; higher runs first); absent = 0. */
  readonly priority?: number;
  /** Bound (ms from arrival at the dispatcher) to each task's final answer (SPEC 8); absent = none. */
  readonly deadlineMs?: number;
}

/** Everything the client core wants done or wants known. */
export type ClientOutput =
  | { readonly kind: "send"; readonly to: Endpoint; readonly packet: Packet }
  | { readonly kind: "task_sent"; readonly taskId: TaskId }
  | {
      readonly kind: "task_ended";
      readonly record: TaskRecord;
      readonly isWrong: boolean;
      /** When (ms) the task was first sent: the statistics leave out the warm-up's tasks by it. */
      readonly firstSentMs: number;
    }
  | { readonly kind: "duplicate_answer"; readonly taskId: TaskId }
  /** An answer for a task the client had already given up on (it stays `unanswered`). */
  | { readonly kind: "late_answer"; readonly taskId: TaskId }
  | { readonly kind: "send_skipped"; readonly reason: "pending_full" }
  | { readonly kind: "finished" };
