/**
 * What an {@link OverlayAgent} (agent.ts), the one overlay node shell, is built from: its settings,
 * the ports its host gives it (a packet sender, a clock, the node's queue, a logger), and the table
 * sizes and resend schedule, whose defaults are the daemons' and which the simulator resizes for its
 * runs. Both hosts fill the same structure: the calculator daemon (src/calculator/daemon.ts) over its
 * UDP socket and wall clock, the simulator (sim-cluster.ts) over a MemoryNetwork and simulated time.
 */
import type { Logger } from "pino";

import type { OverlayPacket } from "../protocol/overlay-packets.js";
import type { Packet } from "../protocol/packet.js";
import type { AdminRebalance } from "../protocol/packets.js";
import type { SpreadClaimed, SpreadStart } from "../protocol/spread-packets.js";
import { type Endpoint, endpointKey } from "../transport/transport.js";
import type { OverlayQueue } from "./overlay-queue.js";
import type { Topology } from "./tree.js";

/** Settings of an overlay node (times in ms). */
export interface OverlayAgentConfig {
  readonly nodeId: string;
  readonly topology: Topology;
  /** Every node's address: moves go directly between any two nodes. BOUNDED: topology size. */
  readonly peers: ReadonlyMap<string, Endpoint>;
  /** Root: start a round this often (0: only on demand). */
  readonly rebalanceIntervalMs: number;
  /** A round, a spread wave or a move offer without an answer for this long ends (timed out, presumed moved). */
  readonly waveTimeoutMs: number;
  /** A node sent something that has not answered for this long is believed dead. */
  readonly childSilenceMs: number;
  /** First link seq and first wave id: the boot time, so a restarted node never reuses either. */
  readonly bootMs: number;
  /** Table sizes and the resend schedule; absent fields take {@link DAEMON_AGENT_LIMITS}. */
  readonly limits?: Partial<OverlayAgentLimits>;
}

/** Table sizes and the link's resend schedule of one overlay node. */
export interface OverlayAgentLimits {
  /** Unacked link packets at most (a send beyond it is dropped as `link_full`). */
  readonly unackedMax: number;
  /** (sender, seq) pairs remembered for dedup, each for dedupTtlMs. */
  readonly dedupMax: number;
  readonly dedupTtlMs: number;
  /** Delays between a link packet's sends (ms); the last one repeats until acked. */
  readonly resendDelaysMs: readonly number[];
  /** Move orders, offers and replies remembered (for duplicates), each for moveRememberMs. */
  readonly movesRememberedMax: number;
  readonly moveRememberMs: number;
}

/** The daemons' limits (docs/LIMITS.md). */
export const DAEMON_AGENT_LIMITS: OverlayAgentLimits = {
  unackedMax: 4_096,
  dedupMax: 16_384,
  dedupTtlMs: 600_000,
  resendDelaysMs: [100, 200, 400, 800, 1_600],
  movesRememberedMax: 4_096,
  moveRememberMs: 600_000,
};

/** Observes steps that leave no packet behind (the simulator counts them); never decides anything. */
export interface OverlayObserver {
  /** This node acted in Finn spread wave `waveId`, taking `share` tasks of the batch. */
  spreadActed?(waveId: number, share: number): void;
}

/** What the agent needs from its host (a calculator daemon, or the simulator). */
export interface OverlayAgentDeps {
  readonly config: OverlayAgentConfig;
  readonly queue: OverlayQueue;
  /** Sends one packet to an address (the host encodes it). */
  readonly send: (to: Endpoint, packet: Packet) => void;
  readonly nowMs: () => number;
  readonly log: Logger;
  /** The dispatcher's address: with it the node takes part in Finn spread waves (spread-node.ts). */
  readonly dispatcher?: Endpoint;
  /** This node's incarnation as its heartbeats announce it (default: config.bootMs). */
  readonly boot?: number;
  readonly observer?: OverlayObserver;
}

/** Packets from the dispatcher that an overlay node handles (Finn spread). */
export type SpreadPacket = SpreadStart | SpreadClaimed;

/** Every packet an overlay node takes. */
export type OverlayAgentPacket = OverlayPacket | AdminRebalance | SpreadPacket;

/** True for the packets an overlay node handles (waves, links, moves, and the admin request). */
export function isOverlayAgentPacket(packet: Packet): packet is OverlayAgentPacket {
  return (
    packet.type.startsWith("wave.") ||
    packet.type.startsWith("overlay.") ||
    packet.type === "admin.rebalance" ||
    packet.type === "spread.start" ||
    packet.type === "spread.claimed"
  );
}

/** BOUNDED: one entry per live peers map (weakly held): a simulator's agents share one. */
const idsByEndpointCache = new WeakMap<ReadonlyMap<string, Endpoint>, ReadonlyMap<string, string>>();

/** Endpoint key -> node id of a peers map, built once per map (the agent checks senders with it). */
export function idsByEndpointOf(peers: ReadonlyMap<string, Endpoint>): ReadonlyMap<string, string> {
  let ids = idsByEndpointCache.get(peers);
  if (ids === undefined) {
    ids = new Map([...peers].map(([id, endpoint]) => [endpointKey(endpoint), id]));
    idsByEndpointCache.set(peers, ids);
  }
  return ids;
}
