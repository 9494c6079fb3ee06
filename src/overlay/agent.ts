/**
 * The one overlay node shell (docs/OVERLAY.md): the shell around the pure echo, move and Finn state
 * machines, the link layer and the echo-part assembler, run by both the calculator daemon (over its
 * UDP socket and wall clock) and the simulator behind run-overlay-sim (over a MemoryNetwork and
 * simulated time, sim-cluster.ts). Decoded packets and nowMs come in; packets go out through the
 * host's `send`. The root runs rebalancing rounds (agent-root.ts) every rebalanceIntervalMs and on
 * request; a child that stops answering is believed dead and left out of later waves until it
 * answers again; a round whose wave or moves take longer than waveTimeoutMs ends as timed out.
 */
import type { Logger } from "pino";

import { PROTOCOL_VERSION } from "../protocol/limits.js";
import type { WaveEcho } from "../protocol/overlay-packets.js";
import type { Packet } from "../protocol/packet.js";
import type { AdminRebalance } from "../protocol/packets.js";
import { retryPolicy } from "../reliable/retry-policy.js";
import { type Endpoint, endpointKey } from "../transport/transport.js";
import {
  DAEMON_AGENT_LIMITS,
  idsByEndpointOf,
  type OverlayAgentConfig,
  type OverlayAgentDeps,
  type OverlayAgentPacket,
  type SpreadPacket,
} from "./agent-config.js";
import { type AgentPorts, agentMoveQueue, EchoOutputs, performMove, spreadNodeFor } from "./agent-outputs.js";
import { RootRole } from "./agent-root.js";
import { EchoNode, type EchoOutput } from "./echo.js";
import { EchoAssembler } from "./echo-parts.js";
import { type LinkSend, OverlayLink, type PacketDraft, type ReliablePacket } from "./link.js";
import { MoveNode, type MoveOutput } from "./move.js";
import type { SpreadNode } from "./spread-node.js";

/** Waves each node keeps state for (echo waves, their message counts, their partial echo reports). */
export const AGENT_WAVES_MAX = 8;
/** Partial multi-part echo reports a node assembles at once. */
export const AGENT_ASSEMBLIES_MAX = 64;
/** Drops logged at warn: a peers address that does not match, a full link table, a request at the wrong node. */
const WARN_DROP_REASONS: ReadonlySet<string> = new Set(["unknown_sender", "unknown_peer", "link_full", "not_the_root"]);

/** One overlay node. */
export class OverlayAgent {
  readonly #deps: OverlayAgentDeps;
  readonly #config: OverlayAgentConfig;
  readonly #link: OverlayLink;
  readonly #echo: EchoNode;
  readonly #move: MoveNode;
  readonly #assembler = new EchoAssembler(AGENT_ASSEMBLIES_MAX);
  readonly #treeChildren: readonly string[];
  /** BOUNDED: topology size. Peers sent something that has not answered since (ms of the first send). */
  readonly #awaitingSinceMs = new Map<string, number>();
  /** Endpoint key -> node id, to check senders (shared by every agent given the same peers map). */
  readonly #idByEndpoint: ReadonlyMap<string, string>;
  /** Performs echo outputs; counts echo messages sent per wave (BOUNDED: AGENT_WAVES_MAX waves). */
  readonly #echoOutputs = new EchoOutputs(AGENT_WAVES_MAX);
  /** Overlay packets dropped, by reason. BOUNDED: reasons come from a fixed set of codes. */
  readonly droppedCounts = new Map<string, number>();
  /** The root's rounds; undefined on other nodes. */
  readonly #root: RootRole | undefined;
  readonly #log: Logger;
  /** This agent's send, drop, log and queue, for the output handlers in agent-outputs.ts. */
  readonly #ports: AgentPorts;
  /** Finn spread waves; undefined without a dispatcher address. */
  readonly #spread: SpreadNode | undefined;

  constructor(deps: OverlayAgentDeps) {
    this.#deps = deps;
    this.#config = deps.config;
    const { topology, nodeId } = deps.config;
    const limits = { ...DAEMON_AGENT_LIMITS, ...deps.config.limits };
    const index = topology.mustIndexOf(nodeId);
    const parentIndex = topology.parents[index]?.[0];
    this.#treeChildren = (topology.treeChildren[index] ?? []).map((child) => topology.ids[child] as string);
    this.#link = new OverlayLink({
      id: nodeId,
      unackedMax: limits.unackedMax,
      dedupMax: limits.dedupMax,
      dedupTtlMs: limits.dedupTtlMs,
      policy: retryPolicy(limits.resendDelaysMs),
      seqStart: deps.config.bootMs * 1_000,
      boot: Math.max(1, deps.config.bootMs),
      requireBootTypes: new Set(["overlay.move"]),
      restampAgeMaxMs: deps.config.waveTimeoutMs, // then the offer is presumed moved: never restamp it
    });
    this.#echo = new EchoNode({
      id: nodeId,
      parent: parentIndex === undefined ? undefined : topology.ids[parentIndex],
      children: this.#treeChildren,
      wavesMax: AGENT_WAVES_MAX,
    });
    this.#move = new MoveNode(
      { id: nodeId, movesRememberedMax: limits.movesRememberedMax, rememberMs: limits.moveRememberMs },
      agentMoveQueue(deps.queue, deps.nowMs),
    );
    this.#idByEndpoint = idsByEndpointOf(deps.config.peers);
    this.#log = deps.log.child({ component: "overlay" });
    this.#ports = {
      queue: deps.queue,
      log: this.#log,
      send: (nowMs, to, draft) => this.#send(nowMs, to, draft),
      drop: (reason) => this.#drop(reason),
      abandonOffer: (to, round, index) => this.#link.abandonOffer(to, round, index),
    };
    const sendTo = (to: Endpoint, packet: Packet): void => deps.send(to, packet);
    this.#root = this.#echo.isRoot
      ? new RootRole(deps.config, deps.nowMs(), {
          ...this.#ports,
          sendOverlay: this.#ports.send,
          sendTo,
          startWave: (nowMs, waveId) => this.#startWave(nowMs, waveId),
        })
      : undefined;
    this.#spread = spreadNodeFor(deps, this.#ports, sendTo);
  }

  get isRoot(): boolean {
    return this.#echo.isRoot;
  }

  /** True when onTick has something to do: the root always; others while packets or offers await answers. */
  get hasWork(): boolean {
    return (
      this.#root !== undefined ||
      this.#link.hasWork ||
      this.#move.pendingOfferCount > 0 ||
      this.#spread?.hasWork === true
    );
  }

  /** Link packets resent because no ack came (not the stamped resend of an offer its receiver asked for). */
  get resentCount(): number {
    return this.#link.retransmittedCount - this.#link.restampedCount;
  }

  /** Echo messages (explores and echoes, however many parts) this node sent in wave `waveId`. */
  echoMessagesSent(waveId: number): number {
    return this.#echoOutputs.sentIn(waveId);
  }

  /** Partial multi-part echo reports held; those of waves older than AGENT_WAVES_MAX expire. */
  get pendingAssemblyCount(): number {
    return this.#assembler.pendingCount;
  }

  /** Overlay packets, admin requests and spread packets, decoded by the host. */
  onPacket(nowMs: number, from: Endpoint, packet: OverlayAgentPacket): void {
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

  /** Acks and resends, claim resends, expired offers; the root ends and starts rounds. */
  onTick(nowMs: number): void {
    for (const send of this.#link.onTick(nowMs)) this.#transmit(send);
    this.#spread?.onTick(nowMs);
    this.#performMove(nowMs, this.#move.expireOffers(nowMs, this.#config.waveTimeoutMs));
    this.#root?.onTick(nowMs);
  }

  #onAdminRequest(nowMs: number, from: Endpoint, request: AdminRebalance): void {
    if (this.#root === undefined) this.#drop("not_the_root");
    else this.#root.onRequest(nowMs, from, request);
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

  /** Root: starts echo wave `waveId` of a round. */
  #startWave(nowMs: number, waveId: number): void {
    this.#assembler.forgetBefore(waveId - AGENT_WAVES_MAX); // parts of forgotten waves never complete
    this.#performEcho(nowMs, this.#echo.start(waveId, this.#load(), this.#excluded(nowMs, waveId)));
  }

  #handle(nowMs: number, packet: ReliablePacket): void {
    switch (packet.type) {
      case "wave.explore": {
        this.#assembler.forgetBefore(packet.waveId - AGENT_WAVES_MAX); // parts of forgotten waves never complete
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
        this.#root?.onReport(nowMs, packet);
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
    this.#echoOutputs.perform(this.#ports, nowMs, outputs, (at, waveId, report) =>
      this.#root?.onDecided(at, waveId, report),
    );
  }

  #performMove(nowMs: number, outputs: readonly MoveOutput[]): void {
    performMove(this.#ports, nowMs, outputs);
  }

  #load(): { slots: number; queued: number } {
    return { slots: this.#deps.queue.slots, queued: this.#deps.queue.queuedCount() };
  }

  /** Children believed dead, left out of wave `waveId` (and said so at warn). */
  #excluded(nowMs: number, waveId: number): Set<string> {
    const dead = new Set<string>();
    for (const child of this.#treeChildren) {
      const sinceMs = this.#awaitingSinceMs.get(child);
      if (sinceMs !== undefined && nowMs - sinceMs > this.#config.childSilenceMs) dead.add(child);
    }
    if (dead.size > 0) this.#log.warn({ waveId, excluded: [...dead] }, "children not answering: left out of this wave");
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
