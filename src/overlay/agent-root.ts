/**
 * The root's part of an {@link OverlayAgent}: it starts a rebalancing round every rebalanceIntervalMs
 * and on request (`admin.rebalance`, relayed by the dispatcher, or the simulator's stand-in), plans
 * the moves when the echo wave decides, sends the orders, ends the round on the last move report or
 * at its deadline, answers the requests and logs the round. Split out of agent.ts (one responsibility
 * per file); like it, no timers and no sockets: time comes in as nowMs, effects go out through ports.
 */
import type { Logger } from "pino";

import type { Packet } from "../protocol/packet.js";
import type { AdminRebalance } from "../protocol/packets.js";
import type { Endpoint } from "../transport/transport.js";
import type { OverlayAgentConfig } from "./agent-config.js";
import type { SubtreeReport } from "./echo.js";
import type { PacketDraft } from "./link.js";
import type { MoveReport } from "./move.js";
import type { RoundSummary } from "./rebalance-round.js";
import { RootRounds } from "./root-rounds.js";

/** What the root's part needs from its agent. */
export interface RootPorts {
  readonly log: Logger;
  /** Starts echo wave `waveId` at this node (the root). */
  startWave(nowMs: number, waveId: number): void;
  /** Reliable send to overlay node `to` (a message to this node is handled at once). */
  sendOverlay(nowMs: number, to: string, draft: PacketDraft): void;
  /** One datagram to an address (a requester). */
  sendTo(to: Endpoint, packet: Packet): void;
  /** Counts (and logs) a dropped packet or decision. */
  drop(reason: string): void;
}

/** The root's rounds, as the agent drives them. */
export class RootRole {
  readonly #config: OverlayAgentConfig;
  readonly #ports: RootPorts;
  readonly #rounds: RootRounds;

  constructor(config: OverlayAgentConfig, nowMs: number, ports: RootPorts) {
    this.#config = config;
    this.#ports = ports;
    this.#rounds = new RootRounds(
      {
        nodeId: config.nodeId,
        nodeCount: config.topology.size,
        rebalanceIntervalMs: config.rebalanceIntervalMs,
        waveTimeoutMs: config.waveTimeoutMs,
        waveIdStart: config.bootMs,
      },
      nowMs,
    );
  }

  /** True while a round runs (its deadline needs ticks). */
  get isRoundRunning(): boolean {
    return this.#rounds.round !== undefined;
  }

  /** An operator asks for a round: answered from the cache, or it waits for the round (started now if none runs). */
  onRequest(nowMs: number, from: Endpoint, request: AdminRebalance): void {
    const { answer, shouldStart } = this.#rounds.onRequest(nowMs, request.requestId, from);
    if (answer !== undefined) this.#ports.sendTo(answer.to, answer.result);
    if (shouldStart) this.#startRound(nowMs);
  }

  /** Ends a round that is due; starts one when the interval says so. */
  onTick(nowMs: number): void {
    if (this.#rounds.round?.isDue(nowMs) === true) this.#endRound(nowMs);
    if (this.#rounds.isIntervalDue(nowMs)) this.#startRound(nowMs);
  }

  /** A giver reported one order of the round. */
  onReport(nowMs: number, report: MoveReport): void {
    if (this.#rounds.round?.onReport(report) === true) this.#endRound(nowMs);
  }

  /** The root's echo wave decided: plan and send the orders (or end the round when there are none). */
  onDecided(nowMs: number, waveId: number, report: SubtreeReport): void {
    const round = this.#rounds.round;
    // A wave of a round that timed out can still decide later: its loads are stale, never plan on them.
    if (round === undefined || round.waveId !== waveId) {
      this.#ports.drop("stale_decision");
      return;
    }
    const orders = round.onDecided(report, this.#config.topology);
    if (round.rejection !== undefined) {
      this.#ports.drop(`report_${round.rejection.reason}`);
      this.#ports.log.warn({ waveId: round.waveId, ...round.rejection }, "echo report rejected: no moves this round");
    }
    if (orders.length === 0) {
      this.#endRound(nowMs);
      return;
    }
    for (const { from, round: r, index, to, count } of orders)
      this.#ports.sendOverlay(nowMs, from, { type: "overlay.move.order", round: r, index, to, count });
  }

  #startRound(nowMs: number): void {
    this.#ports.startWave(nowMs, this.#rounds.begin(nowMs));
  }

  #endRound(nowMs: number): void {
    const ended = this.#rounds.end(nowMs);
    if (ended === undefined) return;
    this.#logRound(ended.summary);
    for (const { to, result } of ended.answers) this.#ports.sendTo(to, result);
  }

  #logRound(summary: RoundSummary): void {
    const loadsBefore = Object.fromEntries(summary.loads.map((l) => [l.id, l.before]));
    const loadsAfter = Object.fromEntries(summary.loads.map((l) => [l.id, l.after]));
    const round = this.#rounds.roundNumberOf(summary.waveId);
    const fields = { ...summary, round, loads: undefined, loadsBefore, loadsAfter };
    if (summary.status === "done") this.#ports.log.info(fields, "rebalance round");
    else if (summary.status === "rejected") this.#ports.log.warn(fields, "rebalance round rejected");
    else this.#ports.log.warn(fields, "rebalance round timed out");
  }
}
