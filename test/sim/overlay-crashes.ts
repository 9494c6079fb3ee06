/**
 * Faults at the worst moments of a move, for the overlay-daemons fault simulation, driven by the
 * daemons' own log lines as they are written (so the fault lands before the node's next send):
 *  - crash: right after a receiver took moved tasks ("moved tasks taken"; its reply and announcement
 *    never leave) or a giver committed them ("queued tasks moved"; before the dispatcher could ask it
 *    where they went). The node is cut off at once, killed at the next step and restarted (a new
 *    incarnation) downMs later;
 *  - slow reply: right after a receiver took moved tasks, everything it sends to the other overlay
 *    nodes is lost for slowMs (longer than the giver waits for a reply), while it still talks to the
 *    dispatcher: the giver must presume the tasks moved, never take them back.
 * And faults at the moment a giver first sends a move offer (the harness sees the datagram leave):
 *  - held offer: the giver's packets to the receiver are lost for holdMs, longer than the giver waits
 *    for a reply, so it presumes the tasks moved and the dispatcher assigns them to the receiver
 *    before the giver's resent offer arrives there: the receiver must take it as a duplicate
 *    (idempotent by task id), never queue a task it holds a second time;
 *  - receiver restarted before the offer arrives: the receiver is cut off at once (the offer is
 *    lost), killed, and restarted downMs later (longer than the giver waits and than the dispatcher's
 *    heartbeat timeout, so the task is placed elsewhere meanwhile): the giver's resends, meant for its
 *    earlier life, must not be taken by the new one.
 * And same-life cut-offs at the moment a giver first sends a move offer (cuts): the giver or the
 * receiver is cut off the network (dispatcher included) for downMs, longer than the dispatcher's
 * heartbeat timeout, and comes back in the same life (not restarted). Cut off as it sends, a giver is
 * declared dead and its tasks placed elsewhere, and it presumes the offer moved; a receiver cut off
 * is declared dead too. Whatever either side resends when it is back must not run a task that runs,
 * or was answered, elsewhere. Or the giver is cut off from the dispatcher only (same life) while its
 * offer to the receiver is held back for offerHoldMs: the offer arrives after the dispatcher declared
 * the giver dead and placed its tasks elsewhere, but before the giver presumes it moved; the receiver
 * must not run what it takes from such an offer unless the dispatcher confirms the move.
 * And crashes right after a node echoes a wave (its link acks never leave; see #onEchoed).
 * A seeded coin decides; one life at a time per node.
 */
import type { Rng } from "../../src/runtime/rng.js";
import { randomIntInclusive } from "../../src/runtime/rng.js";
import type { MemoryNetwork } from "../../src/transport/memory-network.js";
import type { Endpoint } from "../../src/transport/transport.js";
import type { LogLine } from "./overlay-daemons-harness.js";

/** How often a move step is followed by a fault of the node that took it. */
export interface MoveCrashPlan {
  readonly probability: number;
  /** Share of the faults after "moved tasks taken" that are slow replies rather than crashes. */
  readonly slowReplyShare: number;
  /** Faults per run at most. */
  readonly countMax: number;
  readonly downMs: { readonly min: number; readonly max: number };
  readonly slowMs: number;
  /** Faults when a giver first sends an offer (none when undefined). */
  readonly offers?: OfferFaultPlan;
  /** Crashes right after a node echoes (restarted downMs later), at most countMax per run. */
  readonly echoCrashes?: { readonly probability: number; readonly countMax: number };
  /** Same-life cut-offs of a giver or receiver when an offer is first sent (none when undefined). */
  readonly cuts?: CutPlan;
}

/** Same-life cut-offs of one side of a move, at the moment its offer leaves the giver. */
export interface CutPlan {
  readonly probability: number;
  /** Share of the cut-offs that cut the giver off rather than the receiver. */
  readonly giverShare: number;
  /** Share of the cut-offs (drawn first) that cut the giver off from the dispatcher only. */
  readonly fromDispatcherShare: number;
  /** How long the offer is held back then: after heartbeatTimeoutMs, before the giver presumes it moved. */
  readonly offerHoldMs: { readonly min: number; readonly max: number };
  readonly countMax: number;
  /** How long the node stays cut off: choose it above the dispatcher's heartbeatTimeoutMs. */
  readonly downMs: { readonly min: number; readonly max: number };
}

/** Faults at the moment a move offer leaves its giver. */
export interface OfferFaultPlan {
  readonly probability: number;
  /** Share of the offer faults that restart the receiver rather than hold the offer back. */
  readonly restartShare: number;
  readonly countMax: number;
  readonly holdMs: { readonly min: number; readonly max: number };
  readonly downMs: { readonly min: number; readonly max: number };
}

/** After a fault, keep the run going this long after it is over (for resends that land late). */
const SETTLE_MS = 2_500;

/** What the faults act on. */
export interface MoveCrashHost {
  readonly lines: LogLine[];
  readonly network: MemoryNetwork;
  readonly nodes: readonly string[];
  readonly dispatcher: Endpoint;
  endpointOf(node: string): Endpoint;
  kill(node: string): Promise<void>;
  restart(node: string): void;
}

/** Reactive faults after move steps. */
export class MoveCrashes {
  readonly #plan: MoveCrashPlan;
  readonly #rng: Rng;
  readonly #host: MoveCrashHost;
  #faultCount = 0;
  /** BOUNDED: topology size. Nodes cut off to be killed at the next step. */
  readonly #toKill = new Set<string>();
  /** BOUNDED: topology size. Nodes down, with their restart time. */
  readonly #down = new Map<string, number>();
  /** BOUNDED: topology size. How long a node cut off by an offer fault stays down (its own range). */
  readonly #downMsOf = new Map<string, number>();
  /** BOUNDED: topology size. Nodes whose overlay sends are lost, until the time given. */
  readonly #slow = new Map<string, number>();
  /** BOUNDED: topology size squared. Giver-to-receiver links blocked, until the time given. */
  readonly #held = new Map<string, { giver: string; receiver: string; untilMs: number }>();
  /** BOUNDED: offers seen in one run (each first send once). Offers already seen. */
  readonly #offersSeen = new Set<string>();
  #offerFaultCount = 0;
  /** BOUNDED: topology size. Nodes cut off in the same life (from everything or from the dispatcher), until then. */
  readonly #cut = new Map<string, { untilMs: number; isFromDispatcherOnly: boolean }>();
  #cutCount = 0;
  #echoCrashCount = 0;
  /** The run must go on at least until then (ms): a fault or what follows it is still under way. */
  busyUntilMs = 0;

  /** Offer faults draw from their own stream, so the move-step faults of a seed stay as they were. */
  readonly #offerRng: Rng;
  /** Cut-offs draw from their own stream too. */
  readonly #cutRng: Rng;

  constructor(plan: MoveCrashPlan, rng: Rng, host: MoveCrashHost, offerRng: Rng = rng, cutRng: Rng = offerRng) {
    this.#plan = plan;
    this.#rng = rng;
    this.#host = host;
    this.#offerRng = offerRng;
    this.#cutRng = cutRng;
  }

  /** Sees each log line as it is written (synchronously, before the node sends anything more). */
  onLine(line: LogLine): void {
    if (line.msg === "echo wave: my part done") {
      this.#onEchoed(String(line["node"]), Number(line["simMs"]));
      return;
    }
    const isTaken = line.msg === "moved tasks taken" && Number(line["acceptedCount"]) > 0;
    if (!isTaken && line.msg !== "queued tasks moved") return;
    const node = String(line["node"]);
    if (this.#isBusy(node)) return;
    if (this.#faultCount >= this.#plan.countMax || this.#rng() >= this.#plan.probability) return;
    this.#faultCount += 1;
    const atMs = Number(line["simMs"]);
    const { network } = this.#host;
    const from = this.#host.endpointOf(node);
    if (isTaken && this.#rng() < this.#plan.slowReplyShare) {
      for (const peer of this.#host.nodes)
        if (peer !== node) network.setLinkBlocked(from, this.#host.endpointOf(peer), true);
      this.#slow.set(node, atMs + this.#plan.slowMs);
      this.#host.lines.push({ msg: "sim: overlay sends lost", node, simMs: atMs, forMs: this.#plan.slowMs });
      return;
    }
    network.setIsolated(from, true);
    this.#toKill.add(node);
    this.#host.lines.push({ msg: "sim: node crashing", node, simMs: atMs, after: line.msg });
  }

  /**
   * A node just sent its echo: maybe crash it before its link acks leave, so its parent resends the
   * explore; in the first wave after a join that explore names no incarnation, so the node's next life
   * takes it and echoes the old wave again: the parent must count one echo per child and wave.
   */
  #onEchoed(node: string, atMs: number): void {
    const plan = this.#plan.echoCrashes;
    if (plan === undefined || this.#echoCrashCount >= plan.countMax || this.#isBusy(node)) return;
    if (this.#offerRng() >= plan.probability) return;
    this.#echoCrashCount += 1;
    this.#host.network.setIsolated(this.#host.endpointOf(node), true);
    this.#toKill.add(node);
    this.busyUntilMs = Math.max(this.busyUntilMs, atMs + this.#plan.downMs.max + SETTLE_MS);
    this.#host.lines.push({ msg: "sim: node crashing", node, simMs: atMs, after: "echo wave: my part done" });
  }

  #isBusy(node: string): boolean {
    return this.#toKill.has(node) || this.#down.has(node) || this.#slow.has(node) || this.#cut.has(node);
  }

  /**
   * Maybe cuts the giver or the receiver of a new offer off the network, same life (see CutPlan).
   * Returns false when it did not, else how long (ms) the offer datagram itself is held back in the
   * network (undefined: sent as usual).
   */
  #maybeCut(giver: string, receiver: string, atMs: number): false | number | undefined {
    const plan = this.#plan.cuts;
    if (plan === undefined || this.#cutCount >= plan.countMax) return false;
    if (this.#isBusy(giver) || this.#isBusy(receiver) || this.#cutRng() >= plan.probability) return false;
    this.#cutCount += 1;
    const isFromDispatcherOnly = this.#cutRng() < plan.fromDispatcherShare;
    const node = isFromDispatcherOnly || this.#cutRng() < plan.giverShare ? giver : receiver;
    const downMs = randomIntInclusive(this.#cutRng, plan.downMs.min, plan.downMs.max);
    const { network, dispatcher } = this.#host;
    const at = this.#host.endpointOf(node);
    let holdMs: number | undefined;
    if (isFromDispatcherOnly) {
      network.setLinkBlocked(at, dispatcher, true);
      network.setLinkBlocked(dispatcher, at, true);
      // The offer datagram is delayed in the network (its resends meanwhile are lost), so it arrives
      // after the giver is declared dead, whatever the giver's resend schedule.
      holdMs = randomIntInclusive(this.#cutRng, plan.offerHoldMs.min, plan.offerHoldMs.max);
      network.setLinkBlocked(at, this.#host.endpointOf(receiver), true);
      this.#held.set(`${giver}>${receiver}`, { giver, receiver, untilMs: atMs + holdMs });
      this.#host.lines.push({ msg: "sim: move offer held back", giver, receiver, simMs: atMs, forMs: holdMs });
    } else network.setIsolated(at, true);
    this.#cut.set(node, { untilMs: atMs + downMs, isFromDispatcherOnly });
    this.busyUntilMs = Math.max(this.busyUntilMs, atMs + downMs + SETTLE_MS);
    const role = isFromDispatcherOnly ? "giver, from the dispatcher" : node === giver ? "giver" : "receiver";
    this.#host.lines.push({ msg: "sim: node cut off (same life)", node, role, simMs: atMs, forMs: downMs });
    this.#host.lines.push({ msg: "sim: subtree cut off", nodes: [node], simMs: atMs }); // for the invariants
    return holdMs;
  }

  /**
   * A giver sent a move offer (`key`: giver, round, index) to `receiver`: maybe fault it, once per
   * offer. Returns how long (ms) to hold this datagram back in the network (undefined: send it now).
   */
  onOfferSent(giver: string, receiver: string, key: string, atMs: number): number | undefined {
    const plan = this.#plan.offers;
    if (this.#offersSeen.has(key)) return;
    this.#offersSeen.add(key);
    const cut = this.#maybeCut(giver, receiver, atMs);
    if (cut !== false) return cut;
    if (plan === undefined || this.#offerFaultCount >= plan.countMax) return;
    if (this.#isBusy(giver) || this.#isBusy(receiver) || this.#offerRng() >= plan.probability) return;
    this.#offerFaultCount += 1;
    const { network } = this.#host;
    if (this.#offerRng() < plan.restartShare) {
      network.setIsolated(this.#host.endpointOf(receiver), true);
      this.#toKill.add(receiver);
      const downMs = randomIntInclusive(this.#offerRng, plan.downMs.min, plan.downMs.max);
      this.#downMsOf.set(receiver, downMs);
      this.busyUntilMs = Math.max(this.busyUntilMs, atMs + downMs + SETTLE_MS);
      this.#host.lines.push({ msg: "sim: node crashing", node: receiver, simMs: atMs, after: "move offered" });
      return;
    }
    const holdMs = randomIntInclusive(this.#offerRng, plan.holdMs.min, plan.holdMs.max);
    network.setLinkBlocked(this.#host.endpointOf(giver), this.#host.endpointOf(receiver), true);
    this.#held.set(`${giver}>${receiver}`, { giver, receiver, untilMs: atMs + holdMs });
    this.busyUntilMs = Math.max(this.busyUntilMs, atMs + holdMs + SETTLE_MS);
    this.#host.lines.push({ msg: "sim: move offer held back", giver, receiver, simMs: atMs, forMs: holdMs });
  }

  /** Kills the nodes cut off since the last step, restarts those whose time came, ends slow replies. */
  async step(nowMs: number): Promise<void> {
    const { network } = this.#host;
    for (const node of this.#toKill) {
      await this.#host.kill(node);
      this.#host.lines.push({ msg: "sim: node killed", node, simMs: nowMs });
      const downMs =
        this.#downMsOf.get(node) ?? randomIntInclusive(this.#rng, this.#plan.downMs.min, this.#plan.downMs.max);
      this.#downMsOf.delete(node);
      this.#down.set(node, nowMs + downMs);
    }
    this.#toKill.clear();
    for (const [node, restartMs] of this.#down) {
      if (nowMs < restartMs) continue;
      this.#down.delete(node);
      network.setIsolated(this.#host.endpointOf(node), false);
      this.#host.restart(node);
    }
    for (const [node, cut] of this.#cut) {
      if (nowMs < cut.untilMs) continue;
      this.#cut.delete(node);
      const at = this.#host.endpointOf(node);
      if (cut.isFromDispatcherOnly) {
        network.setLinkBlocked(at, this.#host.dispatcher, false);
        network.setLinkBlocked(this.#host.dispatcher, at, false);
      } else network.setIsolated(at, false);
      this.#host.lines.push({ msg: "sim: subtree back", nodes: [node], simMs: nowMs });
    }
    for (const [node, untilMs] of this.#slow) {
      if (nowMs < untilMs) continue;
      this.#slow.delete(node);
      const from = this.#host.endpointOf(node);
      for (const peer of this.#host.nodes)
        if (peer !== node) network.setLinkBlocked(from, this.#host.endpointOf(peer), false);
    }
    for (const [link, held] of this.#held) {
      if (nowMs < held.untilMs) continue;
      this.#held.delete(link);
      network.setLinkBlocked(this.#host.endpointOf(held.giver), this.#host.endpointOf(held.receiver), false);
    }
  }
}
