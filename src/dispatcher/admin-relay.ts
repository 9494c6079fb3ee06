/**
 * Relays operator requests that the overlay answers (today: `admin.rebalance`) from the CLI to the
 * overlay root calculator, and the root's results back to whoever asked. The dispatcher is the one
 * address operators know; the root is whichever live calculator heartbeats `overlayRole: "root"`.
 * Pure: time arrives as nowMs.
 */
import { PROTOCOL_VERSION } from "../protocol/limits.js";
import type { AdminRebalance, AdminRebalanceResult, NodeId } from "../protocol/packets.js";
import { BoundedMap } from "../runtime/bounded-map.js";
import type { Endpoint } from "../transport/transport.js";
import type { CalculatorRegistry } from "./registry.js";
import type { DispatcherOutput } from "./types.js";

/** Requests remembered while the root works on them. */
const REQUESTS_MAX = 256;
/** How long a requester is remembered (ms): longer than any CLI waits for a result. */
const REQUEST_TTL_MS = 120_000;

/** The CLI <-> overlay-root relay. */
export class AdminRelay {
  readonly #nodeId: NodeId;
  /** BOUNDED: REQUESTS_MAX requesters for REQUEST_TTL_MS. */
  readonly #requesters = new BoundedMap<string, Endpoint>(REQUESTS_MAX, REQUEST_TTL_MS);

  constructor(nodeId: NodeId) {
    this.#nodeId = nodeId;
  }

  /** A CLI asks for a rebalancing round: forward to the root, or answer `no_overlay` at once. */
  onRequest(nowMs: number, from: Endpoint, request: AdminRebalance, registry: CalculatorRegistry): DispatcherOutput[] {
    const root = [...registry.values()].find((entry) => entry.isAlive && entry.overlayRole === "root");
    if (root === undefined) {
      const packet: AdminRebalanceResult = {
        v: PROTOCOL_VERSION,
        type: "admin.rebalance.result",
        from: this.#nodeId,
        requestId: request.requestId,
        status: "no_overlay",
        waveId: 0,
        nodeCount: 0,
        reachedCount: 0,
        waveMessages: 0,
        movedCount: 0,
        loads: [],
      };
      return [{ kind: "send", to: from, packet }];
    }
    this.#requesters.set(nowMs, request.requestId, from);
    return [{ kind: "send", to: root.endpoint, packet: { ...request, from: this.#nodeId } }];
  }

  /** The root answered: pass the result on to the requester (repeats are passed on too). */
  onResult(
    nowMs: number,
    from: Endpoint,
    result: AdminRebalanceResult,
    registry: CalculatorRegistry,
  ): DispatcherOutput[] {
    const sender = registry.touch(nowMs, result.from, from);
    if (sender === undefined || sender.overlayRole !== "root") {
      return [{ kind: "packet_dropped", reason: "unknown_calculator", type: result.type }];
    }
    const requester = this.#requesters.get(nowMs, result.requestId);
    if (requester === undefined) return [{ kind: "packet_dropped", reason: "unknown_task", type: result.type }];
    return [{ kind: "send", to: requester, packet: { ...result, from: this.#nodeId } }];
  }
}
