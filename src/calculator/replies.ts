/**
 * The calculator's answers to the dispatcher as send outputs: `task.ack` receipts and `task.done`
 * results. Split out of core.ts (house limit ~300 lines) so core.ts and local-queue.ts build them
 * the same way. Pure: no time, no I/O.
 */

import { PROTOCOL_VERSION } from "../protocol/limits.js";
import type { NodeId, TaskId } from "../protocol/packets.js";
import type { Endpoint } from "../transport/transport.js";
import type { CalculatorOutput } from "./types.js";

/**
 * A `task.ack` from calculator `from` to `to`; `holder` names the node holding a moved task, `attempt`
 * echoes the attempt bound of the cancel a `cancelled` ack answers, `giver` names the node an arrival
 * announcement's task came from.
 */
export function ackOutput(
  from: NodeId,
  to: Endpoint,
  taskId: TaskId,
  state: "running" | "busy" | "queued" | "moved" | "cancelled",
  holder?: string,
  attempt?: number,
  giver?: string,
): CalculatorOutput {
  const packet = {
    v: PROTOCOL_VERSION,
    type: "task.ack",
    from,
    taskId,
    state,
    ...(holder === undefined ? {} : { holder }),
    ...(attempt === undefined ? {} : { attempt }),
    ...(giver === undefined ? {} : { giver }),
  } as const;
  return { kind: "send", to, packet };
}

/** A `task.done` carrying `result` for attempt `attempt`, from calculator `from` to `to`. */
export function doneOutput(
  from: NodeId,
  to: Endpoint,
  taskId: TaskId,
  attempt: number,
  result: string,
): CalculatorOutput {
  return {
    kind: "send",
    to,
    packet: { v: PROTOCOL_VERSION, type: "task.done", from, taskId, attempt, result },
  };
}
