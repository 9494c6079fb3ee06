/**
 * What the dispatcher remembers of a spread batch, and its answers to `cluster spread` (the batch's
 * progress, or why no batch was made), never larger than the request they answer (SPEC 10). Used by
 * spread-batches.ts.
 */
import { PROTOCOL_VERSION } from "../protocol/limits.js";
import {
  type AdminSpread,
  type AdminSpreadResult,
  SPREAD_SHARES_MAX,
  type SpreadEnd,
  spreadTaskId,
} from "../protocol/spread-packets.js";
import type { Endpoint } from "../transport/transport.js";
import type { DispatcherOutput } from "./types.js";

/** A final answer the core keeps, as far as a batch's progress needs it. */
export type FinalLookup = (taskId: string) => "succeeded" | "failed" | undefined;

/** One spread batch as the dispatcher remembers it. */
export interface Batch {
  readonly batchId: string;
  readonly count: number;
  readonly createdMs: number;
  status: "spreading" | "done" | "timed_out";
  nextStartMs: number;
  end: SpreadEnd | undefined;
  /** Tasks assigned by claims, per node. BOUNDED: calculatorsMax nodes. */
  readonly claimedBy: Map<string, number>;
  /** The node each task index was assigned to by its claim. BOUNDED: count entries. */
  readonly claimants: (string | undefined)[];
  claimedCount: number;
  /** Held tasks placed by the dispatcher when the wave ended. */
  replacedCount: number;
}

/** A batch remembered for `request` (claims and the wave's end are filled in as they come). */
export function newBatch(request: AdminSpread, nowMs: number, status: Batch["status"], replacedCount: number): Batch {
  return {
    batchId: request.requestId,
    count: request.count,
    createdMs: nowMs,
    status,
    nextStartMs: nowMs,
    end: undefined,
    claimedBy: new Map(),
    claimants: new Array<string | undefined>(request.count).fill(undefined),
    claimedCount: 0,
    replacedCount,
  };
}

/** The answer to a spread request: the batch, its wave as far as known, and its tasks' answers so far. */
export function batchResult(nodeId: string, batch: Batch, finalOf: FinalLookup): AdminSpreadResult {
  let succeededCount = 0;
  let failedCount = 0;
  for (let i = 0; i < batch.count; i += 1) {
    const final = finalOf(spreadTaskId(batch.batchId, i));
    if (final === "succeeded") succeededCount += 1;
    else if (final === "failed") failedCount += 1;
  }
  const end = batch.end;
  return {
    v: PROTOCOL_VERSION,
    type: "admin.spread.result",
    from: nodeId,
    requestId: batch.batchId,
    status: batch.status,
    count: batch.count,
    waveId: end?.waveId ?? 0,
    nodeCount: end?.nodeCount ?? 0,
    actedCount: end?.actedCount ?? 0,
    waveMessages: end?.waveMessages ?? 0,
    claimedCount: batch.claimedCount,
    replacedCount: batch.replacedCount,
    succeededCount,
    failedCount,
    shares: (end?.shares ?? [])
      .slice(0, SPREAD_SHARES_MAX)
      .map(({ id, share }) => ({ id, share, claimed: batch.claimedBy.get(id) ?? 0 })),
  };
}

/** The answer to a request that created no batch (`no_overlay`, `overloaded`). */
export function emptyResult(
  nodeId: string,
  request: AdminSpread,
  status: AdminSpreadResult["status"],
): AdminSpreadResult {
  return {
    v: PROTOCOL_VERSION,
    type: "admin.spread.result",
    from: nodeId,
    requestId: request.requestId,
    status,
    count: request.count,
    waveId: 0,
    nodeCount: 0,
    actedCount: 0,
    waveMessages: 0,
    claimedCount: 0,
    replacedCount: 0,
    succeededCount: 0,
    failedCount: 0,
    shares: [],
  };
}

/** No amplification (SPEC 10): the answer is never larger than the request it answers. */
export function answerSpread(to: Endpoint, request: AdminSpread, result: AdminSpreadResult): DispatcherOutput[] {
  if (JSON.stringify(result).length > JSON.stringify(request).length)
    return [{ kind: "packet_dropped", reason: "amplification", type: request.type }];
  return [{ kind: "send", to, packet: result }];
}
