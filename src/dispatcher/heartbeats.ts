/**
 * The dispatcher's handling of a calculator's heartbeat: registration, a calculator heard again after
 * it was declared dead (its lost copies revived, copies it abandoned meanwhile revoked), a restart (a
 * death the heartbeat timeout did not see: its copies are lost and re-placed), or a plain refresh.
 * Sans-IO: time comes in as nowMs, effects go out as DispatcherOutput values.
 */

import type { CalcHeartbeat } from "../protocol/packets.js";
import type { Endpoint } from "../transport/transport.js";
import { revokeAbandoned } from "./calculator-acks.js";
import { forgetLostCopies, loseCopy, reviveCopies } from "./copy-losses.js";
import { type DispatchContext, drainQueue } from "./placement.js";
import type { DispatcherOutput } from "./types.js";

/** What a heartbeat did: the outputs, and whether it (re)started a calculator's silence timer. */
export interface HeartbeatOutcome {
  readonly outputs: DispatcherOutput[];
  /** A calculator registered, recovered or restarted: its expiry may be earlier than the registry's wake. */
  readonly isNews: boolean;
}

/** Handles one calculator heartbeat; see the file comment. */
export function onHeartbeat(
  ctx: DispatchContext,
  nowMs: number,
  from: Endpoint,
  heartbeat: CalcHeartbeat,
): HeartbeatOutcome {
  const outcome = ctx.registry.onHeartbeat(nowMs, from, heartbeat);
  const outputs: DispatcherOutput[] = [];
  const calculatorId = heartbeat.from;
  switch (outcome.kind) {
    case "stale":
      return { outputs: [{ kind: "packet_dropped", reason: "stale_heartbeat", type: heartbeat.type }], isNews: false };
    case "full":
      return { outputs: [{ kind: "packet_dropped", reason: "registry_full", type: heartbeat.type }], isNews: false };
    case "registered":
      outputs.push({ kind: "calculator_registered", calculatorId, endpoint: from });
      break;
    case "recovered":
      outputs.push({ kind: "calculator_recovered", calculatorId });
      reviveCopies(ctx, nowMs, calculatorId, outputs);
      revokeAbandoned(ctx, nowMs, calculatorId, outputs);
      break;
    case "restarted":
      outputs.push({ kind: "calculator_restarted", calculatorId });
      // A restart while holding copies is a death the heartbeat timeout did not see.
      if (outcome.lostTasks.length > 0) ctx.registry.recordFailure(nowMs, calculatorId, "death");
      for (const taskId of outcome.lostTasks) {
        const task = ctx.table.get(taskId);
        if (task !== undefined) loseCopy(ctx, nowMs, task, calculatorId, "calculator_restarted", outputs);
      }
      forgetLostCopies(ctx, nowMs, calculatorId, outputs);
      break;
    case "refreshed":
      break;
  }
  drainQueue(ctx, nowMs, outputs);
  return { outputs, isNews: outcome.kind !== "refreshed" };
}
