/**
 * Relays operator requests that the overlay answers (today: `admin.rebalance`) from the CLI to the
 * overlay root calculator, and the root's results back to whoever asked. The dispatcher is the one
 * address operators know; the root is whichever live calculator heartbeats `overlayRole: "root"`.
 * No amplification (SPEC section 10, QUIC's rule): the source of a request may be spoofed, so the
 * relay answers only the source it heard from and never with more bytes than that request had (the
 * CLI pads its request); requests are rate-limited, since each one costs the overlay a wave.
 * Pure: time arrives as nowMs.
 */
import { PROTOCOL_VERSION } from "../protocol/limits.js";
import type { AdminRebalance, AdminRebalanceResult, NodeId } from "../protocol/packets.js";
import { BoundedMap } from "../runtime/bounded-map.js";
import { SourceLimiter } from "../security/source-limiter.js";
import type { Endpoint } from "../transport/transport.js";
import type { CalculatorRegistry } from "./registry.js";
import type { DispatcherOutput } from "./types.js";

/** Requests remembered while the root works on them. */
const REQUESTS_MAX = 256;
/** How long a requester is remembered (ms): longer than any CLI waits for a result. */
const REQUEST_TTL_MS = 120_000;
/** Relayed requests per second, all sources together, and the burst allowed (the CLI resends every 500 ms). */
export const ADMIN_REQUESTS_PER_S = 10;
export const ADMIN_REQUESTS_BURST = 20;

/** A requester and the size of its request (bytes as encoded), the most we may send back to it. */
interface Requester {
  readonly endpoint: Endpoint;
  readonly requestBytes: number;
}

/** Bytes of a packet on the wire (compact JSON of ASCII fields; a padded datagram is never smaller). */
function wireBytes(packet: object): number {
  return JSON.stringify(packet).length;
}

/** The CLI <-> overlay-root relay. */
export class AdminRelay {
  readonly #nodeId: NodeId;
  /** BOUNDED: REQUESTS_MAX requesters for REQUEST_TTL_MS. */
  readonly #requesters = new BoundedMap<string, Requester>(REQUESTS_MAX, REQUEST_TTL_MS);
  /** BOUNDED: one bucket. */
  readonly #limiter = new SourceLimiter({ ratePerS: ADMIN_REQUESTS_PER_S, burst: ADMIN_REQUESTS_BURST, sourcesMax: 1 });

  constructor(nodeId: NodeId) {
    this.#nodeId = nodeId;
  }

  /** A CLI asks for a rebalancing round: forward to the root, or answer `no_overlay` at once. */
  onRequest(nowMs: number, from: Endpoint, request: AdminRebalance, registry: CalculatorRegistry): DispatcherOutput[] {
    if (!this.#limiter.allow("admin", nowMs))
      return [{ kind: "packet_dropped", reason: "rate_limited", type: request.type }];
    const requestBytes = wireBytes(request);
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
      if (wireBytes(packet) > requestBytes)
        return [{ kind: "packet_dropped", reason: "amplification", type: request.type }];
      return [{ kind: "send", to: from, packet }];
    }
    this.#requesters.set(nowMs, request.requestId, { endpoint: from, requestBytes });
    const { pad: _pad, ...unpadded } = request;
    return [{ kind: "send", to: root.endpoint, packet: { ...unpadded, from: this.#nodeId } }];
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
    const packet = { ...result, from: this.#nodeId };
    if (wireBytes(packet) > requester.requestBytes)
      return [{ kind: "packet_dropped", reason: "amplification", type: result.type }];
    return [{ kind: "send", to: requester.endpoint, packet }];
  }
}
