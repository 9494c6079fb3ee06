/**
 * The root's view of one rebalancing round: an echo wave collects every reachable node's queued
 * load, planRebalance computes the minimal moves, the givers report what they moved, and the round
 * ends with loads before and after. It also ends, reported as timed out, when the wave or the moves
 * take longer than the wave timeout. Pure: time arrives as nowMs.
 */
import type { NodeLoadChange } from "../protocol/packets.js";
import type { SubtreeReport } from "./echo.js";
import { type MoveReport, MoveRound } from "./move.js";
import { type MoveOrder, planRebalance, toMoveOrders } from "./rebalance.js";
import { checkReport, type ReportRejection } from "./report-check.js";
import type { Topology } from "./tree.js";

/** How a round ended. */
export interface RoundSummary {
  readonly waveId: number;
  /** rejected: the decided report failed checkReport (a peer sent something inconsistent); nothing moved. */
  readonly status: "done" | "timed_out" | "rejected";
  readonly nodeCount: number;
  readonly reachedCount: number;
  /** Echo messages over the reached tree: 2(reached − 1), one explore and one echo per tree link. */
  readonly waveMessages: number;
  readonly movedCount: number;
  readonly durationMs: number;
  /** BOUNDED: one per reached node. */
  readonly loads: readonly NodeLoadChange[];
}

/** One round at the root, from wave start to the last move report. */
export class RebalanceRound {
  readonly waveId: number;
  readonly #startedMs: number;
  readonly #deadlineMs: number;
  readonly #nodeCount: number;
  #phase: "echo" | "moving" | "ended" = "echo";
  /** Why the decided report was rejected, if it was. */
  rejection: { readonly reason: ReportRejection; readonly detail: string } | undefined;
  #moves: MoveRound | undefined;
  /** BOUNDED: one per reached node. */
  readonly #before = new Map<string, { slots: number; queued: number }>();
  /** BOUNDED: one per reached node. */
  readonly #delta = new Map<string, number>();
  /** Giver of each order index of this round. BOUNDED: one per order. */
  readonly #orderFrom = new Map<number, string>();

  constructor(waveId: number, nowMs: number, waveTimeoutMs: number, nodeCount: number) {
    this.waveId = waveId;
    this.#startedMs = nowMs;
    this.#deadlineMs = nowMs + waveTimeoutMs;
    this.#nodeCount = nodeCount;
  }

  get isEnded(): boolean {
    return this.#phase === "ended";
  }

  /**
   * The wave decided: check the report (it is peer data), then plan the moves. Returns the orders to
   * send (none: the round is over; `rejection` says when that is because the report was bad).
   */
  onDecided(report: SubtreeReport, topology?: Topology): MoveOrder[] {
    if (this.#phase !== "echo") return [];
    const checked = checkReport(report, topology);
    if (!checked.ok) {
      this.rejection = { reason: checked.reason, detail: checked.detail };
      return [];
    }
    const nodes = checked.nodes;
    for (const node of nodes) this.#before.set(node.id, { slots: node.slots, queued: node.queued });
    const orders = toMoveOrders(planRebalance(nodes), this.waveId);
    for (const order of orders) this.#orderFrom.set(order.index, order.from);
    this.#moves = new MoveRound(this.waveId, orders);
    this.#phase = "moving";
    return orders;
  }

  /** A giver reported one order's outcome; true when this was the last one. */
  onReport(report: MoveReport): boolean {
    if (this.#phase !== "moving" || this.#moves === undefined || !this.#moves.onReport(report)) return false;
    const movedCount = report.movedTaskIds.length;
    const giver = this.#giverOf(report);
    if (giver !== undefined) this.#delta.set(giver, (this.#delta.get(giver) ?? 0) - movedCount);
    this.#delta.set(report.to, (this.#delta.get(report.to) ?? 0) + movedCount);
    return this.#moves.isComplete;
  }

  #giverOf(report: MoveReport): string | undefined {
    return this.#orderFrom.get(report.index);
  }

  /** True when the round should end now: every move reported, or the deadline passed. */
  isDue(nowMs: number): boolean {
    if (this.#phase === "ended") return false;
    if (this.#phase === "moving" && this.#moves?.isComplete === true) return true;
    return nowMs >= this.#deadlineMs;
  }

  /** Ends the round and summarises it. */
  end(nowMs: number): RoundSummary {
    const isComplete = this.#phase === "moving" && this.#moves?.isComplete === true;
    this.#phase = "ended";
    const loads: NodeLoadChange[] = [...this.#before].map(([id, { slots, queued }]) => ({
      id,
      slots,
      before: queued,
      after: queued + (this.#delta.get(id) ?? 0),
    }));
    const reachedCount = this.#before.size;
    return {
      waveId: this.waveId,
      status: this.rejection !== undefined ? "rejected" : isComplete ? "done" : "timed_out",
      nodeCount: this.#nodeCount,
      reachedCount,
      waveMessages: reachedCount > 0 ? 2 * (reachedCount - 1) : 0,
      movedCount: this.#moves?.movedCount ?? 0,
      durationMs: nowMs - this.#startedMs,
      loads,
    };
  }
}
