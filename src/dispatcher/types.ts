/**
 * Inputs and outputs of the dispatcher core: what it wants done (sends) and what happened (for
 * logs and metrics). The shell performs sends and turns the rest into logs and counters.
 */
import type { PlacementPolicy } from "../placement/placement.js";
import type { Packet } from "../protocol/packet.js";
import type { NodeId, TaskId } from "../protocol/packets.js";
import type { Endpoint } from "../transport/transport.js";

/**
 * Why a task got a final failure answer (SPEC 5, 8 and 9): `timeout` after queueTimeoutMs, `deadline`
 * after the submitter's own deadlineMs (when shorter).
 */
export type TaskFailureReason = "timeout" | "deadline" | "overloaded" | "cancelled" | "no_quorum";

/**
 * Why a copy of a task was started (SPEC 8, `task_copies_started_total{kind}`): the first copy, the
 * other k-1 copies and extra copies after a disagreement, a backup of a slow copy, a lost copy's successor.
 */
export type CopyKind = "primary" | "replica" | "hedge" | "replacement";

/** Why a packet was dropped without effect (counted by reason). */
export type PacketDropReason =
  | "unexpected_type"
  | "unknown_calculator"
  | "unknown_task"
  | "not_assigned"
  | "revoked_copy"
  | "late_result"
  | "stale_heartbeat"
  | "registry_full"
  /** A second result from a calculator that already voted on this task (one vote per calculator). */
  | "duplicate_vote"
  /** A submit or cancel naming another client's task (tasks belong to (client id, task id)). */
  | "not_owner"
  /** Over the admin relay's request rate. */
  | "rate_limited"
  /** An admin answer larger than the request it answers (the requester did not pad; SPEC section 10). */
  | "amplification"
  /** A spread claim from an earlier incarnation of its node (its boot is not the registered one). */
  | "spread_stale_boot";

/** Why a task's copy was taken from a calculator and the task placed again. */
export type ReplaceReason =
  | "task_timeout"
  | "calculator_dead"
  | "calculator_restarted"
  | "busy"
  /** Its holder moved it (overlay) to a calculator already declared dead. */
  | "moved_to_dead";

/** Everything the core wants done or wants known. */
export type DispatcherOutput =
  | { readonly kind: "send"; readonly to: Endpoint; readonly packet: Packet }
  | {
      readonly kind: "task_completed";
      readonly taskId: TaskId;
      readonly calculatorId: NodeId;
      readonly latencyMs: number;
      readonly attempts: number;
    }
  | { readonly kind: "task_failed"; readonly taskId: TaskId; readonly reason: TaskFailureReason }
  | {
      readonly kind: "copy_started";
      readonly taskId: TaskId;
      readonly calculatorId: NodeId;
      readonly copyKind: CopyKind;
      readonly attempt: number;
    }
  | { readonly kind: "copy_cancelled"; readonly taskId: TaskId; readonly calculatorId: NodeId }
  | {
      readonly kind: "vote_recorded";
      readonly taskId: TaskId;
      readonly calculatorId: NodeId;
      /** Votes for this result so far, including this one. */
      readonly agreeingCount: number;
    }
  | { readonly kind: "copy_outvoted"; readonly taskId: TaskId; readonly calculatorId: NodeId }
  /**
   * An overlay node announced a task moved to it that we do not follow: `unknown` (answered, or never
   * ours) or `stale` (placed elsewhere since the move began): a cancel is on its way.
   */
  | {
      readonly kind: "arrival_refused";
      readonly taskId: TaskId;
      readonly calculatorId: NodeId;
      readonly reason: "unknown" | "stale";
    }
  /** A copy the dispatcher gave up on spoke again (its holder recovered): a cancel is on its way. */
  | { readonly kind: "copy_revoked"; readonly taskId: TaskId; readonly calculatorId: NodeId }
  | { readonly kind: "hedge_skipped"; readonly taskId: TaskId; readonly reason: "budget" }
  | {
      readonly kind: "task_replaced";
      readonly taskId: TaskId;
      readonly calculatorId: NodeId;
      readonly reason: ReplaceReason;
    }
  | {
      readonly kind: "task_moved";
      readonly taskId: TaskId;
      readonly fromCalculatorId: NodeId;
      readonly toCalculatorId: NodeId;
    }
  | { readonly kind: "calculator_registered"; readonly calculatorId: NodeId; readonly endpoint: Endpoint }
  | { readonly kind: "calculator_recovered"; readonly calculatorId: NodeId }
  | { readonly kind: "calculator_restarted"; readonly calculatorId: NodeId }
  | { readonly kind: "calculator_dead"; readonly calculatorId: NodeId; readonly taskCount: number }
  | { readonly kind: "calculator_evicted"; readonly calculatorId: NodeId }
  | { readonly kind: "packet_dropped"; readonly reason: PacketDropReason; readonly type: string }
  /** A spread batch was created (its tasks wait for claims; see spread-batches.ts). */
  | { readonly kind: "spread_started"; readonly batchId: string; readonly count: number }
  /** A spread batch's wave ended; replacedCount tasks nobody claimed were placed by the dispatcher. */
  | {
      readonly kind: "spread_ended";
      readonly batchId: string;
      readonly status: "done" | "timed_out";
      readonly claimedCount: number;
      readonly replacedCount: number;
      readonly waveMessages: number;
    };

/** Settings of the dispatcher core (times in ms). Every map and queue has its maximum here. */
export interface DispatcherCoreConfig {
  readonly nodeId: NodeId;
  readonly heartbeatTimeoutMs: number;
  readonly evictAfterMs: number;
  readonly calculatorsMax: number;
  readonly taskTimeoutMs: number;
  readonly queueTimeoutMs: number;
  /** Tasks known at once (queued plus running); beyond it new tasks fail with `overloaded`. */
  readonly tasksMax: number;
  /** Tasks waiting for a free calculator; beyond it new tasks fail with `overloaded`. */
  readonly queueMax: number;
  /** Final answers kept for `result ID` and duplicate submits (SPEC 3 `results.max`); the oldest go first. */
  readonly resultsMax: number;
  /** How long (ms) a final answer is kept after it was given (SPEC 3 `results.ttlMs`). */
  readonly resultsTtlMs: number;
  /** A receipt goes to the client only if no answer is ready this long after a submit. */
  readonly ackDelayMs: number;
  /** Resend delays of an assign until the calculator answers or acks. */
  readonly assignRetryMs: readonly number[];
  /** After a calculator acked, the assign is resent this often as a probe (recovers a lost done). */
  readonly probeIntervalMs: number;
  readonly placement: PlacementPolicy;
  /** Failure counts of the per-calculator estimates halve this often (ms); absent = 60 000. */
  readonly failureHalfLifeMs?: number;
  /** Replicated execution (SPEC 9); absent = factor 1, quorum 1: plain execution with resends. */
  readonly replication?: ReplicationConfig;
  /** Hedged copies (SPEC 9); absent = off. */
  readonly hedging?: HedgingConfig;
}

/** `replication` (SPEC 9): k copies, q identical results make a result final, at most maxCopies in all. */
export interface ReplicationConfig {
  readonly factor: number;
  readonly quorum: number;
  readonly maxCopies: number;
  /** BOINC-style: a task whose primary lands on a trusted calculator runs as one copy. */
  readonly adaptive: boolean;
  /** Agreeing results in a row that make a calculator trusted (BOINC uses 10). */
  readonly trustRunMin?: number;
}

/** `hedging` (SPEC 9): a backup for a copy slower than `quantile` of recent latencies, within a budget. */
export interface HedgingConfig {
  readonly enabled: boolean;
  /** In (0, 1): the quantile of recent copy latencies after which a copy gets a backup. */
  readonly quantile: number;
  /** A copy is never hedged before it has run this long (ms). */
  readonly minDelayMs: number;
  /** Hedges plus re-placements per primary copy, over a sliding window (token bucket). */
  readonly budget: number;
}

/** Counts of tasks by state, for /status and metrics. */
export interface TaskCounts {
  readonly queued: number;
  readonly running: number;
  readonly cachedResults: number;
}
