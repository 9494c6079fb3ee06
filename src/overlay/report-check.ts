/**
 * The root's check of a decided echo report before it plans anything. Every entry of the report came
 * from a peer, so none of it is trusted: a node listed twice, a node the topology does not have, slots
 * that differ from the topology's, aggregates that do not add up or loads too large for exact
 * arithmetic make the whole report rejected, with a reason the shell counts and logs at warn. Only a
 * report that passes reaches `planRebalance`, whose assertions are then about the planner's own
 * arithmetic and can never be tripped by a peer. Pure.
 */
import { NODE_QUEUED_MAX } from "../protocol/overlay-packets.js";
import type { SubtreeReport } from "./echo.js";
import type { PlanNode } from "./rebalance.js";
import type { Topology } from "./tree.js";

/** Why a report was rejected. */
export type ReportRejection =
  | "empty"
  | "duplicate_id"
  | "unknown_node"
  | "slots_mismatch"
  | "bad_numbers"
  | "sums_mismatch"
  | "too_large";

/** The outcome of {@link checkReport}. */
export type ReportCheck =
  | { readonly ok: true; readonly nodes: PlanNode[] }
  | { readonly ok: false; readonly reason: ReportRejection; readonly detail: string };

function rejected(reason: ReportRejection, detail: string): ReportCheck {
  return { ok: false, reason, detail };
}

/**
 * Checks a decided report against itself and, when given, the topology (every id a node of it, with
 * the topology's slots). Returns the planner's input, or why the report cannot be used. Never throws.
 */
export function checkReport(report: SubtreeReport, topology?: Topology): ReportCheck {
  if (report.entries.length === 0) return rejected("empty", "the report lists no node");
  const seen = new Set<string>();
  const nodes: PlanNode[] = [];
  let slotsSum = 0;
  let queuedSum = 0;
  for (const [id, , slots, queued] of report.entries) {
    if (seen.has(id)) return rejected("duplicate_id", `node "${id}" is listed twice`);
    seen.add(id);
    if (!Number.isSafeInteger(slots) || slots < 1 || !Number.isSafeInteger(queued) || queued < 0)
      return rejected("bad_numbers", `node "${id}" reports slots ${slots}, queued ${queued}`);
    if (queued > NODE_QUEUED_MAX) return rejected("too_large", `node "${id}" reports ${queued} queued tasks`);
    if (topology !== undefined) {
      const index = topology.indexOf(id);
      if (index === undefined) return rejected("unknown_node", `node "${id}" is not in the topology`);
      const expected = topology.slots[index];
      if (expected !== slots) return rejected("slots_mismatch", `node "${id}" reports ${slots} slots, not ${expected}`);
    }
    slotsSum += slots;
    queuedSum += queued;
    nodes.push({ id, slots, queued });
  }
  if (report.nodeCount !== nodes.length || report.slotsSum !== slotsSum || report.queuedSum !== queuedSum)
    return rejected("sums_mismatch", "the report's aggregates do not match its entries");
  if (!Number.isSafeInteger(queuedSum * slotsSum)) return rejected("too_large", "loads too large for exact arithmetic");
  return { ok: true, nodes };
}
