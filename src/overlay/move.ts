/**
 * Carrying out a rebalancing plan without creating, losing or duplicating a task. Three roles:
 *  - the giver gets an order from the root, RESERVES up to `count` queued tasks (a reserved task is
 *    never started) and offers them to the receiver; fewer queued tasks (one started or finished
 *    meanwhile) means a smaller offer or none: the giver "refuses" the rest;
 *  - the receiver enqueues what it can, idempotently by task id, and replies accepted / refused;
 *  - on the reply the giver drops the accepted tasks for good, puts the refused ones back, and reports
 *    to the root which tasks now live where (the calculators tell the dispatcher with task.ack moved).
 * Every step is idempotent by (round, index), so link-layer duplicates are harmless. Pure.
 */
import type { MovedTask } from "../protocol/overlay-packets.js";
import { assert } from "../runtime/assert.js";
import { BoundedMap } from "../runtime/bounded-map.js";
import type { MoveOrder } from "./rebalance.js";

/** The node's task queue as a move needs it; the calculator's real queue implements this. */
export interface MoveQueue {
  /** Marks up to `countMax` QUEUED tasks as reserved (never started, never offered twice) and returns them. */
  reserveQueued(countMax: number): MovedTask[];
  /** Removes reserved tasks for good: they now belong to another node. */
  commitMoved(taskIds: readonly string[]): void;
  /** Returns reserved tasks to the queue (the receiver refused them). */
  releaseReserved(taskIds: readonly string[]): void;
  /** Enqueues incoming tasks from `giver`; a task id already held counts as accepted (a duplicate offer). */
  acceptIncoming(tasks: readonly MovedTask[], giver: string): { accepted: string[]; refused: string[] };
}

/** Everything the move layer wants sent or known. Packets are the overlay-packets fields minus envelope/seq. */
export type MoveOutput =
  | {
      readonly kind: "send_offer";
      readonly to: string;
      readonly round: number;
      readonly index: number;
      readonly tasks: MovedTask[];
    }
  | {
      readonly kind: "send_reply";
      readonly to: string;
      readonly round: number;
      readonly index: number;
      readonly accepted: string[];
      readonly refused: string[];
    }
  | { readonly kind: "send_report"; readonly to: string; readonly report: MoveReport }
  /** These tasks now live on `to`: the giver's calculator answers probes for them with `moved` to `to`. */
  | { readonly kind: "tasks_moved"; readonly to: string; readonly taskIds: readonly string[] }
  | {
      readonly kind: "move_ignored";
      readonly reason: "duplicate" | "unknown_move" | "not_the_receiver" | "empty_order";
    }
  /**
   * An offer had no reply in time; its tasks are presumed to be the receiver's now (see expireOffers).
   * The offer (`round`, `index`) must no longer be resent: the dispatcher may place its tasks elsewhere.
   */
  | {
      readonly kind: "move_presumed";
      readonly to: string;
      readonly round: number;
      readonly index: number;
      readonly taskIds: readonly string[];
    };

/** The outcome of one order, as sent in `overlay.move.report`. */
export interface MoveReport {
  readonly round: number;
  readonly index: number;
  readonly to: string;
  readonly movedTaskIds: readonly string[];
  readonly unmovedCount: number;
}

interface Offer {
  readonly order: MoveOrder;
  readonly root: string;
  readonly taskIds: readonly string[];
  readonly sentMs: number;
}

/** Limits of a {@link MoveNode}. */
export interface MoveNodeConfig {
  readonly id: string;
  /** Orders and offers remembered for deduplication; entries expire after rememberMs. */
  readonly movesRememberedMax: number;
  readonly rememberMs: number;
}

/** The giver and receiver halves of a move, for one node. */
export class MoveNode {
  readonly #config: MoveNodeConfig;
  readonly #queue: MoveQueue;
  /** BOUNDED: movesRememberedMax; offers awaiting the receiver's reply (never evicted early in practice). */
  readonly #offers: BoundedMap<string, Offer>;
  /** Keys of offers still awaiting a reply. BOUNDED: like #offers (removed when settled or gone). */
  readonly #pendingOfferKeys = new Set<string>();
  /** BOUNDED: movesRememberedMax and rememberMs; orders already handled, so a duplicate does nothing. */
  readonly #ordersSeen: BoundedMap<string, true>;
  /** BOUNDED: movesRememberedMax and rememberMs; replies sent, repeated verbatim to a duplicate offer. */
  readonly #repliesSent: BoundedMap<string, MoveOutput>;

  constructor(config: MoveNodeConfig, queue: MoveQueue) {
    this.#config = config;
    this.#queue = queue;
    this.#offers = new BoundedMap(config.movesRememberedMax, config.rememberMs);
    this.#ordersSeen = new BoundedMap(config.movesRememberedMax, config.rememberMs);
    this.#repliesSent = new BoundedMap(config.movesRememberedMax, config.rememberMs);
  }

  /** Giver: the root `root` orders us to offer up to `order.count` queued tasks to `order.to`. */
  onOrder(nowMs: number, root: string, order: MoveOrder): MoveOutput[] {
    // An order comes off the wire (the schema says count >= 1): a bad one is ignored, never asserted.
    if (!(order.count > 0)) return [{ kind: "move_ignored", reason: "empty_order" }];
    const key = moveKey(order.round, order.index);
    if (this.#ordersSeen.has(nowMs, key)) return [{ kind: "move_ignored", reason: "duplicate" }];
    this.#ordersSeen.set(nowMs, key, true);
    if (order.from !== this.#config.id || order.to === this.#config.id) {
      return [{ kind: "send_report", to: root, report: { ...reportOf(order), unmovedCount: order.count } }];
    }
    const tasks = this.#queue.reserveQueued(order.count);
    if (tasks.length === 0) {
      return [{ kind: "send_report", to: root, report: { ...reportOf(order), unmovedCount: order.count } }];
    }
    this.#offers.set(nowMs, key, { order, root, taskIds: tasks.map((task) => task.taskId), sentMs: nowMs });
    this.#pendingOfferKeys.add(key);
    return [{ kind: "send_offer", to: order.to, round: order.round, index: order.index, tasks }];
  }

  /** Receiver: `from` offers tasks. Answers a duplicate offer with the very same reply. */
  onOffer(nowMs: number, from: string, round: number, index: number, tasks: readonly MovedTask[]): MoveOutput[] {
    const key = `${from}|${moveKey(round, index)}`;
    const previous = this.#repliesSent.get(nowMs, key);
    if (previous !== undefined) return [previous];
    const { accepted, refused } = this.#queue.acceptIncoming(tasks, from);
    const reply: MoveOutput = { kind: "send_reply", to: from, round, index, accepted, refused };
    this.#repliesSent.set(nowMs, key, reply);
    return [reply];
  }

  /** Giver: the receiver answered our offer; settle the reserved tasks and report to the root. */
  onReply(nowMs: number, from: string, round: number, index: number, accepted: readonly string[]): MoveOutput[] {
    const key = moveKey(round, index);
    const offer = this.#offers.get(nowMs, key);
    if (offer === undefined) return [{ kind: "move_ignored", reason: "unknown_move" }];
    if (offer.order.to !== from) return [{ kind: "move_ignored", reason: "not_the_receiver" }];
    this.#offers.delete(key);
    this.#pendingOfferKeys.delete(key);
    return this.#settle(offer, accepted);
  }

  /**
   * Giver: offers without a reply for `replyTimeoutMs` are settled as if every task was accepted.
   * Keeping them reserved would strand them if the receiver died; taking them back could run them
   * twice if it did accept. Presumed moved, they are safe either way: probes for them are pointed at
   * the receiver, which runs them if it has them and takes them as new assigns if it never got them,
   * and if it died, the dispatcher declares it dead and places them again.
   */
  expireOffers(nowMs: number, replyTimeoutMs: number): MoveOutput[] {
    const outputs: MoveOutput[] = [];
    for (const key of [...this.#pendingOfferKeys]) {
      const offer = this.#offers.get(nowMs, key);
      if (offer === undefined) {
        this.#pendingOfferKeys.delete(key);
        continue;
      }
      if (nowMs - offer.sentMs < replyTimeoutMs) continue;
      this.#offers.delete(key);
      this.#pendingOfferKeys.delete(key);
      const { to, round, index } = offer.order;
      outputs.push({ kind: "move_presumed", to, round, index, taskIds: offer.taskIds });
      outputs.push(...this.#settle(offer, offer.taskIds));
    }
    return outputs;
  }

  #settle(offer: Offer, accepted: readonly string[]): MoveOutput[] {
    // Only ids we offered count; anything else in the reply is ignored, and the rest comes back.
    const acceptedSet = new Set(accepted);
    const moved = offer.taskIds.filter((taskId) => acceptedSet.has(taskId));
    const returned = offer.taskIds.filter((taskId) => !acceptedSet.has(taskId));
    this.#queue.commitMoved(moved);
    this.#queue.releaseReserved(returned);
    const report = { ...reportOf(offer.order), movedTaskIds: moved, unmovedCount: offer.order.count - moved.length };
    const outputs: MoveOutput[] = [{ kind: "send_report", to: offer.root, report }];
    if (moved.length > 0) outputs.push({ kind: "tasks_moved", to: offer.order.to, taskIds: moved });
    return outputs;
  }

  /** Offers still waiting for a reply (their tasks stay reserved). */
  get pendingOfferCount(): number {
    return this.#offers.size;
  }
}

/** Root: tracks the orders of one round until every report is in. */
export class MoveRound {
  /** BOUNDED: the orders of the plan (fewer than nodes × ⌈moved / MOVE_TASKS_MAX⌉). */
  readonly #waiting = new Set<number>();
  readonly round: number;
  movedCount = 0;
  unmovedCount = 0;

  constructor(round: number, orders: readonly MoveOrder[]) {
    this.round = round;
    for (const order of orders) {
      assert(order.round === round, "an order of another round");
      this.#waiting.add(order.index);
    }
  }

  get isComplete(): boolean {
    return this.#waiting.size === 0;
  }

  /** Records a report; false when it is a duplicate or not of this round. */
  onReport(report: MoveReport): boolean {
    if (report.round !== this.round || !this.#waiting.delete(report.index)) return false;
    this.movedCount += report.movedTaskIds.length;
    this.unmovedCount += report.unmovedCount;
    return true;
  }
}

function moveKey(round: number, index: number): string {
  return `${round}:${index}`;
}

function reportOf(order: MoveOrder): MoveReport {
  return { round: order.round, index: order.index, to: order.to, movedTaskIds: [], unmovedCount: 0 };
}
