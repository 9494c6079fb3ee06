/**
 * The root's schedule of rebalancing rounds and the operators waiting on them: one round at a time,
 * started every rebalanceIntervalMs or on request; each request is answered when its round ends, and
 * a repeated request (the CLI resends) gets the same answer from a small cache. Pure: time arrives as
 * nowMs, answers are returned for the shell to send.
 */
import { PROTOCOL_VERSION } from "../protocol/limits.js";
import { type AdminRebalanceResult, REBALANCE_LOADS_MAX } from "../protocol/packets.js";
import { BoundedMap } from "../runtime/bounded-map.js";
import type { Endpoint } from "../transport/transport.js";
import { RebalanceRound, type RoundSummary } from "./rebalance-round.js";

/** Requests waiting on one round, and results kept for repeats. */
const REQUESTS_MAX = 64;
const RESULTS_TTL_MS = 120_000;

/** An answer for the shell to send. */
export interface RoundAnswer {
  readonly to: Endpoint;
  readonly result: AdminRebalanceResult;
}

/** Settings of the root's schedule (ms). */
export interface RootRoundsConfig {
  readonly nodeId: string;
  readonly nodeCount: number;
  /** 0: rounds only on request. */
  readonly rebalanceIntervalMs: number;
  readonly waveTimeoutMs: number;
  /** Wave ids start after this (the boot time), so they keep increasing across restarts. */
  readonly waveIdStart: number;
}

/** The root's rounds. */
export class RootRounds {
  readonly #config: RootRoundsConfig;
  /** BOUNDED: REQUESTS_MAX results for RESULTS_TTL_MS. */
  readonly #results = new BoundedMap<string, AdminRebalanceResult>(REQUESTS_MAX, RESULTS_TTL_MS);
  /** BOUNDED: REQUESTS_MAX; further requests wait for the next round's repeat. */
  #requesters: { readonly requestId: string; readonly to: Endpoint }[] = [];
  #round: RebalanceRound | undefined;
  #lastWaveId: number;
  #nextRoundMs: number;

  constructor(config: RootRoundsConfig, nowMs: number) {
    this.#config = config;
    this.#lastWaveId = config.waveIdStart;
    this.#nextRoundMs = nowMs + config.rebalanceIntervalMs;
  }

  /** The round in progress, if any. */
  get round(): RebalanceRound | undefined {
    return this.#round;
  }

  /** An operator asks for a round: answered from the cache, or it waits (true: start one now). */
  onRequest(nowMs: number, requestId: string, from: Endpoint): { answer?: RoundAnswer; shouldStart: boolean } {
    const cached = this.#results.get(nowMs, requestId);
    if (cached !== undefined) return { answer: { to: from, result: cached }, shouldStart: false };
    const isKnown = this.#requesters.some((r) => r.requestId === requestId);
    if (!isKnown && this.#requesters.length < REQUESTS_MAX) this.#requesters.push({ requestId, to: from });
    return { shouldStart: this.#round === undefined };
  }

  /** True when the interval says a round should start now. */
  isIntervalDue(nowMs: number): boolean {
    return this.#round === undefined && this.#config.rebalanceIntervalMs > 0 && nowMs >= this.#nextRoundMs;
  }

  /** Starts a round; returns its wave id. */
  begin(nowMs: number): number {
    this.#lastWaveId += 1;
    this.#round = new RebalanceRound(this.#lastWaveId, nowMs, this.#config.waveTimeoutMs, this.#config.nodeCount);
    return this.#lastWaveId;
  }

  /** Ends the round in progress: its summary and the answers owed. */
  end(nowMs: number): { summary: RoundSummary; answers: RoundAnswer[] } | undefined {
    const round = this.#round;
    if (round === undefined) return undefined;
    const summary = round.end(nowMs);
    this.#round = undefined;
    this.#nextRoundMs = nowMs + this.#config.rebalanceIntervalMs;
    const answers = this.#requesters.map(({ requestId, to }) => {
      const result = this.#resultOf(summary, requestId);
      this.#results.set(nowMs, requestId, result);
      return { to, result };
    });
    this.#requesters = [];
    return { summary, answers };
  }

  /** The round number since this root started (1, 2, ...), for people. */
  roundNumberOf(waveId: number): number {
    return waveId - this.#config.waveIdStart;
  }

  #resultOf(summary: RoundSummary, requestId: string): AdminRebalanceResult {
    return {
      v: PROTOCOL_VERSION,
      type: "admin.rebalance.result",
      from: this.#config.nodeId,
      requestId,
      status: summary.status,
      waveId: summary.waveId,
      nodeCount: summary.nodeCount,
      reachedCount: summary.reachedCount,
      waveMessages: summary.waveMessages,
      movedCount: summary.movedCount,
      loads: summary.loads.slice(0, REBALANCE_LOADS_MAX),
    };
  }
}
