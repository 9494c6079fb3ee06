/**
 * Inputs and outputs of the calculator core. The shell performs sends and computes the hash chain
 * asked for by `compute` outputs (off the hot path, in slices), feeding the digest back in.
 */
import type { Packet } from "../protocol/packet.js";
import type { NodeId, TaskId } from "../protocol/packets.js";
import type { Endpoint } from "../transport/transport.js";

/** A task waiting in a calculator's local queue (overlay mode); also what a move carries. */
export interface QueuedTask {
  readonly taskId: TaskId;
  readonly attempt: number;
  readonly input: string;
  readonly rounds: number;
  readonly replyTo: Endpoint;
}

/** A closed range of milliseconds. */
export interface RangeMs {
  readonly min: number;
  readonly max: number;
}

/** Settings of the calculator core (times in ms). */
export interface CalculatorCoreConfig {
  readonly nodeId: NodeId;
  /** Process start time (epoch ms): orders heartbeats across restarts. */
  readonly boot: number;
  readonly dispatcher: Endpoint;
  /** Tasks run in parallel at most (the node's slots). */
  readonly capacity: number;
  /** Tasks held in a local queue beyond capacity (overlay mode; 0 = refuse with `busy` when full). */
  readonly queueMax: number;
  /** Its place in an overlay, announced in heartbeats (undefined: not an overlay node). */
  readonly overlayRole?: "root" | "node" | undefined;
  /** Overlay node: its parents' ids (none for the root), announced in heartbeats for the dashboard. */
  readonly overlayParents?: readonly NodeId[] | undefined;
  /** The emulated long computation: each task takes a random time in this range (0 is allowed). */
  readonly computeMs: RangeMs;
  readonly heartbeatIntervalMs: number;
  readonly failure: { readonly probability: number; readonly checkIntervalMs: number; readonly durationMs: RangeMs };
  readonly corruption: { readonly probability: number };
  /** Finished results kept to answer a repeated assign without computing again. */
  readonly resultsCacheMax: number;
  readonly resultsCacheTtlMs: number;
  /** A `running` receipt goes out only if the result is not ready this long after an assign. */
  readonly ackDelayMs: number;
}

/** Why the calculator dropped a packet. */
export type CalculatorDropReason = "outage" | "unexpected_type" | "stale_incarnation";

/** Everything the calculator core wants done or wants known. */
export type CalculatorOutput =
  | { readonly kind: "send"; readonly to: Endpoint; readonly packet: Packet }
  | { readonly kind: "compute"; readonly taskId: TaskId; readonly input: string; readonly rounds: number }
  | { readonly kind: "task_started"; readonly taskId: TaskId; readonly computeMs: number }
  | { readonly kind: "task_queued"; readonly taskId: TaskId; readonly queuedCount: number }
  | { readonly kind: "task_finished"; readonly taskId: TaskId; readonly isCorrupt: boolean }
  /** The dispatcher cancelled a copy held here: dropped from the queue, or abandoned while running. */
  | { readonly kind: "task_cancelled"; readonly taskId: TaskId; readonly wasRunning: boolean }
  | { readonly kind: "outage_started"; readonly durationMs: number }
  | { readonly kind: "outage_ended" }
  | { readonly kind: "packet_dropped"; readonly reason: CalculatorDropReason; readonly type: string };
