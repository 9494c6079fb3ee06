/**
 * Inputs and outputs of the dispatcher core: what it wants done (sends) and what happened (for
 * logs and metrics). The shell performs sends and turns the rest into logs and counters.
 */
import type { PlacementPolicy } from "../placement/placement.js";
import type { Packet } from "../protocol/packet.js";
import type { NodeId, TaskId } from "../protocol/packets.js";
import type { Endpoint } from "../transport/transport.js";

/** Why a task got a final failure answer. */
export type TaskFailureReason = "timeout" | "overloaded";

/** Why a packet was dropped without effect (counted by reason). */
export type PacketDropReason =
  | "unexpected_type"
  | "unknown_calculator"
  | "unknown_task"
  | "not_assigned"
  | "late_result"
  | "stale_heartbeat"
  | "registry_full";

/** Why a task's copy was taken from a calculator and the task placed again. */
export type ReplaceReason = "task_timeout" | "calculator_dead" | "calculator_restarted" | "busy";

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
  | { readonly kind: "packet_dropped"; readonly reason: PacketDropReason; readonly type: string };

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
  readonly resultsCacheMax: number;
  readonly resultsCacheTtlMs: number;
  /** A receipt goes to the client only if no answer is ready this long after a submit. */
  readonly ackDelayMs: number;
  /** Resend delays of an assign until the calculator answers or acks. */
  readonly assignRetryMs: readonly number[];
  /** After a calculator acked, the assign is resent this often as a probe (recovers a lost done). */
  readonly probeIntervalMs: number;
  readonly placement: PlacementPolicy;
}

/** Counts of tasks by state, for /status and metrics. */
export interface TaskCounts {
  readonly queued: number;
  readonly running: number;
  readonly cachedResults: number;
}
