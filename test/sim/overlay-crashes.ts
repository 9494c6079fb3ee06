/**
 * Crashes at the worst moments of a move, for the overlay-daemons fault simulation: right after a
 * receiver took moved tasks (its reply cut off with it, so the giver never hears back) and right after
 * a giver committed a move (before the dispatcher could ask it where the tasks went). Driven by the
 * daemons' own log lines ("moved tasks taken", "queued tasks moved"), with a seeded coin; each crashed
 * node restarts (a new incarnation) after downMs. One life at a time per node.
 */

import type { Rng } from "../../src/runtime/rng.js";
import { randomIntInclusive } from "../../src/runtime/rng.js";
import type { MemoryNetwork } from "../../src/transport/memory-network.js";
import type { Endpoint } from "../../src/transport/transport.js";
import type { LogLine } from "./overlay-daemons-harness.js";

/** How often a move step is followed by a crash of the node that took it. */
export interface MoveCrashPlan {
  readonly probability: number;
  /** Crashes per run at most. */
  readonly countMax: number;
  readonly downMs: { readonly min: number; readonly max: number };
}

/** What the crashes act on. */
export interface MoveCrashHost {
  readonly lines: LogLine[];
  readonly network: MemoryNetwork;
  endpointOf(node: string): Endpoint;
  kill(node: string): Promise<void>;
  restart(node: string): void;
}

/** Reactive crashes after move steps. */
export class MoveCrashes {
  readonly #plan: MoveCrashPlan;
  readonly #rng: Rng;
  readonly #host: MoveCrashHost;
  #scannedCount = 0;
  #crashCount = 0;
  /** BOUNDED: topology size. Nodes down now, with their restart time. */
  readonly #down = new Map<string, number>();

  constructor(plan: MoveCrashPlan, rng: Rng, host: MoveCrashHost) {
    this.#plan = plan;
    this.#rng = rng;
    this.#host = host;
  }

  /** Nodes down because of a move crash (a planned fault must not start a second life meanwhile). */
  isDown(node: string): boolean {
    return this.#down.has(node);
  }

  /** Reacts to the log lines written since the last step, and restarts nodes whose time came. */
  async step(nowMs: number): Promise<void> {
    const { lines } = this.#host;
    const fresh = lines.slice(this.#scannedCount);
    this.#scannedCount = lines.length;
    for (const line of fresh) {
      const isTaken = line.msg === "moved tasks taken" && Number(line["acceptedCount"]) > 0;
      if (!isTaken && line.msg !== "queued tasks moved") continue;
      const node = String(line["node"]);
      if (this.#down.has(node) || this.#crashCount >= this.#plan.countMax || this.#rng() >= this.#plan.probability)
        continue;
      this.#crashCount += 1;
      // Cut off first, so what it was about to send (the reply, the answer to a probe) never leaves.
      this.#host.network.setIsolated(this.#host.endpointOf(node), true);
      await this.#host.kill(node);
      lines.push({ msg: "sim: node killed", node, simMs: nowMs, after: line.msg });
      this.#down.set(node, nowMs + randomIntInclusive(this.#rng, this.#plan.downMs.min, this.#plan.downMs.max));
    }
    for (const [node, restartMs] of this.#down) {
      if (nowMs < restartMs) continue;
      this.#down.delete(node);
      this.#host.network.setIsolated(this.#host.endpointOf(node), false);
      this.#host.restart(node);
    }
  }
}
