/**
 * The Finn spread plane of the wire protocol (SPEC.md section 7, docs/OVERLAY.md "Finn spread in the
 * daemons"): the operator asks the dispatcher for a batch of N tasks (`admin.spread`), the dispatcher
 * creates them and asks the overlay root to run a Finn wave (`spread.start`), every node that acts
 * claims its share from the dispatcher (`spread.claim`, answered by `spread.claimed` and the assigns),
 * and the root reports the wave's end (`spread.end`). The task ids and inputs of a batch are derived
 * from its id and an index, so a node claims a range of indexes and the CLI knows every id without a
 * list on the wire. Pure: no I/O.
 */
import * as z from "zod";

import { DATAGRAM_BYTES_MAX, PROTOCOL_VERSION, ROUNDS_MAX } from "./limits.js";
import { NodeId, wire } from "./packets.js";

/**
 * Tasks in one spread batch at most. Bounds the dispatcher's work per request (one table entry each)
 * and the index range a claim may name; ten thousand tasks is far beyond a demo and a 50-node test.
 */
export const SPREAD_TASKS_MAX = 10_000;

/**
 * Nodes whose share one spread answer lists at most (like REBALANCE_LOADS_MAX): 64 entries of at most
 * about 110 bytes stay under 8 KB, so a padded request of SPREAD_REQUEST_BYTES is never smaller than
 * its answer. Larger overlays are summarised by the totals.
 */
export const SPREAD_SHARES_MAX = 64;

/** The padded size of an `admin.spread` request (bytes), at least the largest answer (no amplification). */
export const SPREAD_REQUEST_BYTES = 8_192;

const envelope = { v: z.literal(PROTOCOL_VERSION), from: NodeId };
const count = z.int().min(0).max(SPREAD_TASKS_MAX);
const BatchId = z.uuid();

/** The id of task `index` of batch `batchId`: the batch id with its last 12 hex digits replaced by the index. */
export function spreadTaskId(batchId: string, index: number): string {
  return `${batchId.slice(0, 24)}${index.toString(16).padStart(12, "0")}`;
}

/** The input of task `index` of batch `batchId` (at most 36 + 1 + 5 characters, inside INPUT_CHARS_MAX). */
export function spreadTaskInput(batchId: string, index: number): string {
  return `${batchId}:${index}`;
}

export const AdminSpread = z
  .strictObject({
    ...envelope,
    type: z.literal("admin.spread"),
    requestId: BatchId,
    count: z.int().min(1).max(SPREAD_TASKS_MAX),
    rounds: z.int().min(1).max(ROUNDS_MAX),
    pad: z.string().max(DATAGRAM_BYTES_MAX).regex(/^ *$/, "spaces only").optional(),
  })
  .register(wire, {
    id: "AdminSpread",
    description:
      "Operator CLI -> dispatcher: spread `count` tasks of `rounds` rounds over the overlay with one Finn " +
      "wave. requestId is the batch id; task i has id spreadTaskId(requestId, i) and input `requestId:i`. " +
      "Idempotent by requestId: a repeat is answered with the batch's progress. Padded (spaces) to " +
      "SPREAD_REQUEST_BYTES so the answer is never larger than the request.",
  });

export const SpreadShare = z.strictObject({ id: NodeId, share: count, claimed: count }).register(wire, {
  id: "SpreadShare",
  description: "One node's share of a spread batch (by slots) and the tasks it claimed from the dispatcher.",
});

export const AdminSpreadResult = z
  .strictObject({
    ...envelope,
    type: z.literal("admin.spread.result"),
    requestId: BatchId,
    status: z.enum(["spreading", "done", "timed_out", "no_overlay", "overloaded"]),
    count,
    waveId: z.int().min(0),
    nodeCount: z.int().min(0),
    actedCount: z.int().min(0),
    waveMessages: z.int().min(0),
    claimedCount: count,
    replacedCount: count,
    succeededCount: count,
    failedCount: count,
    shares: z.array(SpreadShare).max(SPREAD_SHARES_MAX),
  })
  .register(wire, {
    id: "AdminSpreadResult",
    description:
      "Dispatcher -> operator CLI: a spread batch's progress. spreading: the wave runs; done / timed_out: " +
      "it ended (timed_out: some node did not act in time); replacedCount tasks nobody claimed were placed " +
      "by the dispatcher instead; succeeded/failed count final answers so far.",
  });

export const SpreadStart = z
  .strictObject({
    ...envelope,
    type: z.literal("spread.start"),
    batchId: BatchId,
    count: z.int().min(1).max(SPREAD_TASKS_MAX),
  })
  .register(wire, {
    id: "SpreadStart",
    description:
      "Dispatcher -> overlay root: run one Finn wave for this batch. Resent until spread.end arrives; the " +
      "root runs one wave per batch and answers repeats with the same spread.end.",
  });

export const SpreadEnd = z
  .strictObject({
    ...envelope,
    type: z.literal("spread.end"),
    batchId: BatchId,
    status: z.enum(["done", "timed_out"]),
    waveId: z.int().min(0),
    nodeCount: z.int().min(1),
    actedCount: z.int().min(0),
    waveMessages: z.int().min(0),
    shares: z.array(z.strictObject({ id: NodeId, share: count })).max(SPREAD_SHARES_MAX),
  })
  .register(wire, {
    id: "SpreadEnd",
    description:
      "Overlay root -> dispatcher: the batch's wave ended (done: every node acted and claimed; timed_out: " +
      "not within waveTimeoutMs). shares lists each node's share (the first SPREAD_SHARES_MAX nodes).",
  });

export const SpreadClaim = z
  .strictObject({
    ...envelope,
    type: z.literal("spread.claim"),
    boot: z.int().min(0),
    batchId: BatchId,
    first: z.int().min(0).max(SPREAD_TASKS_MAX),
    count: z.int().min(1).max(SPREAD_TASKS_MAX),
  })
  .register(wire, {
    id: "SpreadClaim",
    description:
      "Overlay node -> dispatcher, once it acted in a Finn wave: give me tasks [first, first + count) of " +
      "the batch. boot is the node's incarnation: a claim of an earlier life is refused. Resent until " +
      "spread.claimed arrives; idempotent.",
  });

export const SpreadClaimed = z
  .strictObject({
    ...envelope,
    type: z.literal("spread.claimed"),
    batchId: BatchId,
    first: z.int().min(0).max(SPREAD_TASKS_MAX),
    assignedCount: count,
  })
  .register(wire, {
    id: "SpreadClaimed",
    description:
      "Dispatcher -> overlay node: the claim starting at `first` was handled; assignedCount of its tasks " +
      "were assigned to the node (task.assign follows for each); the others were already placed elsewhere.",
  });

/** Every packet type of the spread plane. */
export const spreadPackets = [
  AdminSpread,
  AdminSpreadResult,
  SpreadStart,
  SpreadEnd,
  SpreadClaim,
  SpreadClaimed,
] as const;

export type AdminSpread = z.infer<typeof AdminSpread>;
export type SpreadShare = z.infer<typeof SpreadShare>;
export type AdminSpreadResult = z.infer<typeof AdminSpreadResult>;
export type SpreadStart = z.infer<typeof SpreadStart>;
export type SpreadEnd = z.infer<typeof SpreadEnd>;
export type SpreadClaim = z.infer<typeof SpreadClaim>;
export type SpreadClaimed = z.infer<typeof SpreadClaimed>;
