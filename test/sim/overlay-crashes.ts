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
}

/** What the faults act on. */
export interface MoveCrashHost {
  readonly lines: LogLine[];
  readonly network: MemoryNetwork;
  readonly nodes: readonly string[];
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
  /** BOUNDED: topology size. Nodes whose overlay sends are lost, until the time given. */
  readonly #slow = new Map<string, number>();

  constructor(plan: MoveCrashPlan, rng: Rng, host: MoveCrashHost) {
    this.#plan = plan;
    this.#rng = rng;
    this.#host = host;
  }

  /** Sees each log line as it is written (synchronously, before the node sends anything more). */
  onLine(line: LogLine): void {
    const isTaken = line.msg === "moved tasks taken" && Number(line["acceptedCount"]) > 0;
    if (!isTaken && line.msg !== "queued tasks moved") return;
    const node = String(line["node"]);
    if (this.#toKill.has(node) || this.#down.has(node) || this.#slow.has(node)) return;
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

  /** Kills the nodes cut off since the last step, restarts those whose time came, ends slow replies. */
  async step(nowMs: number): Promise<void> {
    const { network } = this.#host;
    for (const node of this.#toKill) {
      await this.#host.kill(node);
      this.#host.lines.push({ msg: "sim: node killed", node, simMs: nowMs });
      this.#down.set(node, nowMs + randomIntInclusive(this.#rng, this.#plan.downMs.min, this.#plan.downMs.max));
    }
    this.#toKill.clear();
    for (const [node, restartMs] of this.#down) {
      if (nowMs < restartMs) continue;
      this.#down.delete(node);
      network.setIsolated(this.#host.endpointOf(node), false);
      this.#host.restart(node);
    }
    for (const [node, untilMs] of this.#slow) {
      if (nowMs < untilMs) continue;
      this.#slow.delete(node);
      const from = this.#host.endpointOf(node);
      for (const peer of this.#host.nodes)
        if (peer !== node) network.setLinkBlocked(from, this.#host.endpointOf(peer), false);
    }
  }
}
