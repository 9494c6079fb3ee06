/**
 * An overlay node inside a calculator daemon: the shell around the pure echo, move and link state
 * machines, speaking over the calculator's own UDP socket. The root runs a rebalancing round every
 * rebalanceIntervalMs and on demand (admin.rebalance, relayed by the dispatcher). A child that stops
 * answering is believed dead and left out of later waves until it answers again; a round whose wave
 * or moves take longer than waveTimeoutMs ends as timed out, so a dead node never hangs the root.
 */
import type { Logger } from "pino";

import { PROTOCOL_VERSION } from "../protocol/limits.js";
import type { OverlayPacket, WaveEcho } from "../protocol/overlay-packets.js";
import type { Packet } from "../protocol/packet.js";
import type { AdminRebalance } from "../protocol/packets.js";
import type { SpreadClaimed, SpreadStart } from "../protocol/spread-packets.js";
import { retryPolicy } from "../reliable/retry-policy.js";
import { type Endpoint, endpointKey } from "../transport/transport.js";
import { type AgentPorts, agentMoveQueue, EchoOutputs, performMove } from "./agent-outputs.js";
import { EchoNode, type EchoOutput, type SubtreeReport } from "./echo.js";
import { EchoAssembler } from "./echo-parts.js";
import { type LinkSend, OverlayLink, type PacketDraft, type ReliablePacket } from "./link.js";
import { MoveNode, type MoveOutput } from "./move.js";
import type { OverlayQueue } from "./overlay-queue.js";
import type { RoundSummary } from "./rebalance-round.js";
import { RootRounds } from "./root-rounds.js";
import { SpreadNode } from "./spread-node.js";
import type { Topology } from "./tree.js";

/** Settings of an overlay node (times in ms). */
export interface OverlayAgentConfig {
  readonly nodeId: string;
  readonly topology: Topology;
  /** Every node's address: moves go directly between any two nodes. BOUNDED: topology size. */
  readonly peers: ReadonlyMap<string, Endpoint>;
  /** Root: start a round this often (0: only on demand). */
  readonly rebalanceIntervalMs: number;
  readonly waveTimeoutMs: number;
  /** A node sent something that has not answered for this long is believed dead. */
  readonly childSilenceMs: number;
  /** First link seq and first wave id: the boot time, so a restarted node never reuses either. */
  readonly bootMs: number;
}

/** What the agent needs from its daemon. */
export interface OverlayAgentDeps {
  readonly config: OverlayAgentConfig;
  readonly queue: OverlayQueue;
  readonly send: (to: Endpoint, packet: Packet) => void;
  readonly nowMs: () => number;
  readonly log: Logger;
  /** The dispatcher's address: with it the node takes part in Finn spread waves (spread-node.ts). */
  readonly dispatcher?: Endpoint;
  /** This node's incarnation as its heartbeats announce it (default: config.bootMs). */
  readonly boot?: number;
}

/** Packets from the dispatcher that an overlay node handles (Finn spread). */
type SpreadPacket = SpreadStart | SpreadClaimed;

/** True for the packets an overlay node handles (waves, links, moves, and the admin request). */
export function isOverlayAgentPacket(packet: Packet): packet is OverlayPacket | AdminRebalance | SpreadPacket {
  return (
    packet.type.startsWith("wave.") ||
    packet.type.startsWith("overlay.") ||
    packet.type === "admin.rebalance" ||
    packet.type === "spread.start" ||
    packet.type === "spread.claimed"
  );
}

const WAVES_MAX = 8;
/** Drops logged at warn: a peers address that does not match, a full link table, a request at the wrong node. */
const WARN_DROP_REASONS: ReadonlySet<string> = new Set(["unknown_sender", "unknown_peer", "link_full", "not_the_root"]);

/** One overlay node of a real calculator. */
export class OverlayAgent {
  readonly #deps: OverlayAgentDeps;
  readonly #config: OverlayAgentConfig;
  readonly #link: OverlayLink;
  readonly #echo: EchoNode;
  readonly #move: MoveNode;
  readonly #assembler = new EchoAssembler(64);
  readonly #treeChildren: readonly string[];
  /** BOUNDED: topology size. Peers sent something that has not answered since (ms of the first send). */
  readonly #awaitingSinceMs = new Map<string, number>();
  /** BOUNDED: topology size; endpoint key -> node id, to check senders. */
  readonly #idByEndpoint = new Map<string, string>();
  /** Performs echo outputs; counts echo messages sent per wave (BOUNDED: WAVES_MAX waves). */
  readonly #echoOutputs = new EchoOutputs(WAVES_MAX);
  /** Overlay packets dropped, by reason. BOUNDED: reasons come from a fixed set of codes. */
  readonly droppedCounts = new Map<string, number>();
  /** The root's rounds; undefined on other nodes. */
  readonly #rounds: RootRounds | undefined;
  readonly #log: Logger;
  /** This agent's send, drop, log and queue, for the output handlers in agent-outputs.ts. */
  readonly #ports: AgentPorts;
  /** Finn spread waves; undefined without a dispatcher address. */
  readonly #spread: SpreadNode | undefined;

  constructor(deps: OverlayAgentDeps) {
    this.#deps = deps;
    this.#config = deps.config;
    const { topology, nodeId } = deps.config;
    const index = topology.mustIndexOf(nodeId);
    const parentIndex = topology.parents[index]?.[0];
    this.#treeChildren = (topology.treeChildren[index] ?? []).map((child) => topology.ids[child] as string);
    this.#link = new OverlayLink({
      id: nodeId,
      unackedMax: 4_096,
      dedupMax: 16_384,
      dedupTtlMs: 600_000,
      policy: retryPolicy([100, 200, 400, 800, 1_600]),
      seqStart: deps.config.bootMs * 1_000,
      boot: Math.max(1, deps.config.bootMs),
      requireBootTypes: new Set(["overlay.move"]),
    });
    this.#echo = new EchoNode({
      id: nodeId,
      parent: parentIndex === undefined ? undefined : topology.ids[parentIndex],
      children: this.#treeChildren,
      wavesMax: WAVES_MAX,
    });
    this.#move = new MoveNode(
      { id: nodeId, movesRememberedMax: 4_096, rememberMs: 600_000 },
      agentMoveQueue(deps.queue, deps.nowMs),
    );
    for (const [id, endpoint] of deps.config.peers) this.#idByEndpoint.set(endpointKey(endpoint), id);
    this.#rounds = this.#echo.isRoot
      ? new RootRounds(
          {
            nodeId,
            nodeCount: topology.size,
            rebalanceIntervalMs: deps.config.rebalanceIntervalMs,
            waveTimeoutMs: deps.config.waveTimeoutMs,
            waveIdStart: deps.config.bootMs,
          },
          deps.nowMs(),
        )
      : undefined;
    this.#log = deps.log.child({ component: "overlay" });
    this.#ports = {
      queue: deps.queue,
      log: this.#log,
      send: (nowMs, to, draft) => this.#send(nowMs, to, draft),
      drop: (reason) => this.#drop(reason),
    };
    this.#spread = spreadNodeFor(deps, this.#ports, (to, packet) => deps.send(to, packet));
  }

  get isRoot(): boolean {
    return this.#echo.isRoot;
  }

  /** Overlay packets and admin requests from the calculator's socket. */
  onPacket(nowMs: number, from: Endpoint, packet: OverlayPacket | AdminRebalance | SpreadPacket): void {
    if (packet.type === "spread.start" || packet.type === "spread.claimed") {
      this.#onSpreadPacket(nowMs, from, packet);
      return;
    }
    if (packet.type === "admin.rebalance") {
      this.#onAdminRequest(nowMs, from, packet);
      return;
    }
    if (this.#idByEndpoint.get(endpointKey(from)) !== packet.from) {
      this.#drop("unknown_sender");
      return;
    }
    this.#awaitingSinceMs.delete(packet.from);
    const received = this.#link.onPacket(nowMs, packet);
    if (received.restartedPeer !== undefined)
      this.#log.info({ peer: received.restartedPeer }, "overlay peer restarted");
    if (received.dropped !== undefined) this.#drop(received.dropped);
    if (received.ack !== undefined) this.#transmit(received.ack);
    if (received.deliver !== undefined) this.#handle(nowMs, received.deliver);
  }

  /** Acks and resends; the root starts and ends rounds. */
  onTick(nowMs: number): void {
    for (const send of this.#link.onTick(nowMs)) this.#transmit(send);
    this.#spread?.onTick(nowMs);
    this.#performMove(nowMs, this.#move.expireOffers(nowMs, this.#config.waveTimeoutMs));
    const rounds = this.#rounds;
    if (rounds === undefined) return;
    if (rounds.round?.isDue(nowMs) === true) this.#endRound(nowMs);
    if (rounds.isIntervalDue(nowMs)) this.#startRound(nowMs);
  }

  #onAdminRequest(nowMs: number, from: Endpoint, request: AdminRebalance): void {
    if (this.#rounds === undefined) {
      this.#drop("not_the_root");
      return;
    }
    const { answer, shouldStart } = this.#rounds.onRequest(nowMs, request.requestId, from);
    if (answer !== undefined) this.#deps.send(answer.to, answer.result);
    if (shouldStart) this.#startRound(nowMs);
  }

  /**
   * Spread packets come from the dispatcher only: the calculator's socket takes datagrams from its
   * dispatcher and its peers alone (by resolved address, so a dispatcher given by name works), and a
   * peer cannot start waves or answer claims.
   */
  #onSpreadPacket(nowMs: number, from: Endpoint, packet: SpreadPacket): void {
    if (this.#spread === undefined || this.#idByEndpoint.has(endpointKey(from))) {
      this.#drop("spread_not_from_dispatcher");
      return;
    }
    if (packet.type === "spread.start") this.#spread.onStart(nowMs, from, packet);
    else this.#spread.onClaimed(nowMs, packet);
  }

  #startRound(nowMs: number): void {
    const rounds = this.#rounds;
    if (rounds === undefined) return;
    const waveId = rounds.begin(nowMs);
    this.#assembler.forgetBefore(waveId - WAVES_MAX); // parts of forgotten waves never complete
    this.#performEcho(nowMs, this.#echo.start(waveId, this.#load(), this.#excluded(nowMs, waveId)));
  }

  #endRound(nowMs: number): void {
    const ended = this.#rounds?.end(nowMs);
    if (ended === undefined) return;
    this.#logRound(ended.summary);
    for (const { to, result } of ended.answers) this.#deps.send(to, result);
  }

  #logRound(summary: RoundSummary): void {
    const loadsBefore = Object.fromEntries(summary.loads.map((l) => [l.id, l.before]));
    const loadsAfter = Object.fromEntries(summary.loads.map((l) => [l.id, l.after]));
    const round = this.#rounds?.roundNumberOf(summary.waveId);
    const fields = { ...summary, round, loads: undefined, loadsBefore, loadsAfter };
    if (summary.status === "done") this.#log.info(fields, "rebalance round");
    else if (summary.status === "rejected") this.#log.warn(fields, "rebalance round rejected");
    else this.#log.warn(fields, "rebalance round timed out");
  }

  #handle(nowMs: number, packet: ReliablePacket): void {
    switch (packet.type) {
      case "wave.explore": {
        this.#assembler.forgetBefore(packet.waveId - WAVES_MAX); // parts of forgotten waves never complete
        const excluded = this.#excluded(nowMs, packet.waveId);
        this.#performEcho(nowMs, this.#echo.onExplore(packet.from, packet.waveId, this.#load(), excluded));
        break;
      }
      case "wave.echo":
        this.#onEchoPart(nowMs, packet);
        break;
      case "wave.finn":
        if (this.#spread === undefined) this.#drop("finn_not_in_daemons");
        else this.#spread.onFinn(nowMs, packet);
        break;
      case "wave.finn.done":
        if (this.#spread === undefined) this.#drop("finn_not_in_daemons");
        else this.#spread.onDone(nowMs, packet);
        break;
      case "overlay.move.order":
        this.#performMove(nowMs, this.#move.onOrder(nowMs, packet.from, { ...packet, from: this.#config.nodeId }));
        break;
      case "overlay.move":
        this.#performMove(nowMs, this.#move.onOffer(nowMs, packet.from, packet.round, packet.index, packet.tasks));
        break;
      case "overlay.move.reply":
        this.#performMove(nowMs, this.#move.onReply(nowMs, packet.from, packet.round, packet.index, packet.accepted));
        break;
      case "overlay.move.report":
        if (this.#rounds?.round?.onReport(packet) === true) this.#endRound(nowMs);
        break;
    }
  }

  #onEchoPart(nowMs: number, packet: WaveEcho): void {
    const result = this.#assembler.add(packet.from, packet.waveId, packet);
    if (result.kind === "rejected") this.#drop(`echo_${result.reason}`);
    if (result.kind === "complete")
      this.#performEcho(nowMs, this.#echo.onEcho(packet.from, packet.waveId, result.report));
  }

  #performEcho(nowMs: number, outputs: readonly EchoOutput[]): void {
    this.#echoOutputs.perform(this.#ports, nowMs, outputs, (at, waveId, report) => this.#onDecided(at, waveId, report));
  }

  #performMove(nowMs: number, outputs: readonly MoveOutput[]): void {
    performMove(this.#ports, nowMs, outputs);
  }

  #onDecided(nowMs: number, waveId: number, report: SubtreeReport): void {
    const round = this.#rounds?.round;
    // A wave of a round that timed out can still decide later: its loads are stale, never plan on them.
    if (round === undefined || round.waveId !== waveId) {
      this.#drop("stale_decision");
      return;
    }
    const orders = round.onDecided(report, this.#config.topology);
    if (round.rejection !== undefined) {
      this.#drop(`report_${round.rejection.reason}`);
      this.#log.warn({ waveId: round.waveId, ...round.rejection }, "echo report rejected: no moves this round");
    }
    if (orders.length === 0) {
      this.#endRound(nowMs);
      return;
    }
    for (const { from, round: r, index, to, count } of orders)
      this.#send(nowMs, from, { type: "overlay.move.order", round: r, index, to, count });
  }

  #load(): { slots: number; queued: number } {
    return { slots: this.#deps.queue.slots, queued: this.#deps.queue.queuedCount() };
  }

  /** Children believed dead, left out of wave `waveId` (and said so at warn). */
  #excluded(nowMs: number, waveId: number): Set<string> {
    const dead = this.#deadChildren(nowMs);
    if (dead.size > 0) this.#log.warn({ waveId, excluded: [...dead] }, "children not answering: left out of this wave");
    return dead;
  }

  #deadChildren(nowMs: number): Set<string> {
    const dead = new Set<string>();
    for (const child of this.#treeChildren) {
      const sinceMs = this.#awaitingSinceMs.get(child);
      if (sinceMs !== undefined && nowMs - sinceMs > this.#config.childSilenceMs) dead.add(child);
    }
    return dead;
  }

  /** Reliable send; a message to ourselves is handled at once. */
  #send(nowMs: number, to: string, draft: PacketDraft): void {
    if (to === this.#config.nodeId) {
      this.#handle(nowMs, { ...draft, v: PROTOCOL_VERSION, from: to, seq: 0 } as ReliablePacket);
      return;
    }
    const send = this.#link.send(nowMs, to, draft);
    if (send === undefined) {
      this.#drop("link_full");
      return;
    }
    if (!this.#awaitingSinceMs.has(to)) this.#awaitingSinceMs.set(to, nowMs);
    this.#transmit(send);
  }

  #transmit(send: LinkSend): void {
    const endpoint = this.#config.peers.get(send.to);
    if (endpoint === undefined) {
      this.#drop("unknown_peer");
      return;
    }
    this.#deps.send(endpoint, send.packet);
  }

  #drop(reason: string): void {
    this.droppedCounts.set(reason, (this.droppedCounts.get(reason) ?? 0) + 1);
    // These point at a misconfiguration or overload; the rest (stale waves, duplicates) are routine.
    if (WARN_DROP_REASONS.has(reason)) this.#log.warn({ reason }, "overlay packet dropped");
    else this.#log.debug({ reason }, "overlay packet dropped");
  }
}

/** The node's Finn spread, when it knows its dispatcher. */
function spreadNodeFor(
  deps: OverlayAgentDeps,
  ports: AgentPorts,
  sendTo: (to: Endpoint, packet: Packet) => void,
): SpreadNode | undefined {
  if (deps.dispatcher === undefined) return undefined;
  const { config } = deps;
  return new SpreadNode(
    {
      nodeId: config.nodeId,
      topology: config.topology,
      boot: deps.boot ?? config.bootMs,
      waveTimeoutMs: config.waveTimeoutMs,
      dispatcher: deps.dispatcher,
    },
    { log: ports.log, sendOverlay: (nowMs, to, draft) => ports.send(nowMs, to, draft), sendTo, drop: ports.drop },
  );
}
