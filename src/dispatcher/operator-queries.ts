/**
 * The dispatcher's answers to the operator CLI's read-only questions (SPEC 8): `task.query` (where is
 * this task: its final answer while kept, queued or running, or unknown) and `admin.status` (task
 * counts and one page of calculators). Pure: they read what the core hands them and change nothing.
 */
import { PROTOCOL_VERSION } from "../protocol/limits.js";
import {
  type AdminStatus,
  type AdminStatusResult,
  type NodeId,
  STATUS_PAGE_CALCULATORS_MAX,
  type TaskQuery,
} from "../protocol/packets.js";
import type { Endpoint } from "../transport/transport.js";
import type { FinalPacket } from "./core.js";
import type { DispatcherStatus } from "./status.js";
import type { DispatcherOutput } from "./types.js";

/** Answers a task.query: the final answer, a receipt with the task's state, or task.unknown. */
export function answerQuery(
  nodeId: NodeId,
  from: Endpoint,
  query: TaskQuery,
  state: "queued" | "running" | "done" | "unknown",
  final: FinalPacket | undefined,
): DispatcherOutput {
  const taskId = query.taskId;
  if (final !== undefined) return { kind: "send", to: from, packet: final };
  if (state === "queued" || state === "running") {
    return { kind: "send", to: from, packet: { v: PROTOCOL_VERSION, type: "task.ack", from: nodeId, taskId, state } };
  }
  return { kind: "send", to: from, packet: { v: PROTOCOL_VERSION, type: "task.unknown", from: nodeId, taskId } };
}

/**
 * Answers an admin.status with the page of calculators that starts at request.offset (empty past the
 * end), and what the cluster survived when `survived` is given.
 */
export function answerStatus(
  nodeId: NodeId,
  from: Endpoint,
  request: AdminStatus,
  status: DispatcherStatus,
  survived?: { readonly outageCount: number; readonly replacedCount: number },
): DispatcherOutput {
  const page = status.calculators.slice(request.offset, request.offset + STATUS_PAGE_CALCULATORS_MAX);
  const packet: AdminStatusResult = {
    v: PROTOCOL_VERSION,
    type: "admin.status.result",
    from: nodeId,
    requestId: request.requestId,
    tasks: { ...status.tasks },
    calculatorsTotal: status.calculators.length,
    offset: request.offset,
    calculators: page.map((row) => ({
      ...row,
      address: row.address.slice(0, 64),
      failureRate: Math.min(1, Math.max(0, Math.round(row.failureRate * 1_000) / 1_000)),
      latencyMs: row.latencyMs === null ? null : Math.round(row.latencyMs),
      lastSeenMs: Math.round(row.lastSeenMs),
    })),
    ...(survived === undefined
      ? {}
      : {
          aliveCount: status.calculators.filter((row) => row.state !== "dead").length,
          outageCount: survived.outageCount,
          replacedCount: survived.replacedCount,
        }),
  };
  return { kind: "send", to: from, packet };
}
