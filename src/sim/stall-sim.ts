/**
 * The lag-aware failure detector in a deterministic simulation (issue 12 item 6): the real
 * DispatcherCore hears heartbeats from many calculators while its own event loop stalls for
 * `stallMs` every `stallEveryMs`, and calculators are killed (SIGKILL: silence) one at a time.
 *
 * The event loop is modelled as Node runs it: nothing runs during a stall; at its end the overdue
 * timer fires first (the timers phase), then the datagrams that queued during the stall are read
 * (the poll phase). Without lag awareness that first tick judges silence with heartbeats still
 * unread, and a calculator whose heartbeat waits in the queue can be declared dead. The shell's
 * part (DeadlineTicker: a timer late by STALL_MS_MIN or more reports a stall since the last event)
 * is modelled here too, so `isLagAware: false` is the detector before the fix.
 *
 * Measured: false deaths (a live calculator declared dead), those with a heartbeat queued unread at
 * the time (caused by the stall), and for each kill the time from the kill to `calculator_dead`.
 */
import { DispatcherCore } from "../dispatcher/core.js";
import type { CalcHeartbeat } from "../protocol/packets.js";
import { assert } from "../runtime/assert.js";
import { randomBetween, seededRng } from "../runtime/rng.js";
import { SAFETY_TICK_MS, STALL_MS_MIN } from "../shell/deadline-ticker.js";
import type { Endpoint } from "../transport/transport.js";
import { simDispatcherConfig } from "./sim-configs.js";

/** Settings of one run (milliseconds, counts, probabilities). */
export interface StallSimOptions {
  readonly seed: number;
  readonly isLagAware: boolean;
  readonly calculatorCount: number;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  /** Each heartbeat leaves up to this late (the calculator's own loop is busy), uniform. */
  readonly sendJitterMs: number;
  /** One-way delay, uniform in [1, networkDelayMsMax]. */
  readonly networkDelayMsMax: number;
  /** Chance a heartbeat is lost; never two in a row (that is what the timeout is for). */
  readonly lossProbability: number;
  readonly stallMs: number;
  readonly stallEveryMs: number;
  /** Kills, at random gaps of killEveryMs on average; a killed calculator comes back (new boot) 1 s after its death. */
  readonly killCount: number;
  readonly killEveryMs: number;
  /** Dispatcher tickMs (least spacing of deadline ticks). */
  readonly tickSpacingMs: number;
}

/** The scenario: 250 ms stalls every 2 s, 100 kills, a timeout that survives one lost heartbeat. */
export const STALL_SIM_DEFAULTS: StallSimOptions = {
  seed: 1,
  isLagAware: true,
  calculatorCount: 64,
  heartbeatIntervalMs: 1_000,
  heartbeatTimeoutMs: 2_500,
  sendJitterMs: 400,
  networkDelayMsMax: 10,
  lossProbability: 0.25,
  stallMs: 250,
  stallEveryMs: 2_000,
  killCount: 100,
  killEveryMs: 5_000,
  tickSpacingMs: 10,
};

/** What one run measured. */
export interface StallSimResult {
  readonly simulatedS: number;
  readonly stallCount: number;
  readonly heartbeatCount: number;
  /** Live calculators declared dead. */
  readonly falseDeathCount: number;
  /** ... of which had a heartbeat queued unread behind a stall when they were declared dead. */
  readonly queuedFalseDeathCount: number;
  readonly killCount: number;
  /** Kill to `calculator_dead`, ms, sorted ascending; one per detected kill. */
  readonly detectionMs: readonly number[];
}

interface Calculator {
  readonly id: string;
  readonly endpoint: Endpoint;
  boot: number;
  seq: number;
  /** Next scheduled heartbeat (before jitter). */
  nextBeatMs: number;
  isAlive: boolean;
  killedMs: number;
  restartMs: number;
  lastLost: boolean;
}

interface Arrival {
  readonly sentMs: number;
  readonly atMs: number;
  readonly calculator: Calculator;
  readonly packet: CalcHeartbeat;
}

/** Value at quantile q (0..1) of an ascending list (nearest rank). */
export function quantileOf(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Runs one simulation; deterministic for given options. */
export function runStallSim(options: StallSimOptions): StallSimResult {
  assert(options.stallMs < options.stallEveryMs, "stalls must not overlap");
  const rng = seededRng(options.seed);
  const core = new DispatcherCore(
    simDispatcherConfig({
      heartbeatTimeoutMs: options.heartbeatTimeoutMs,
      evictAfterMs: 100 * options.heartbeatTimeoutMs,
      calculatorsMax: options.calculatorCount,
    }),
  );
  const calculators: Calculator[] = [];
  for (let i = 0; i < options.calculatorCount; i += 1) {
    calculators.push({
      id: `calc-${i}`,
      endpoint: { host: "127.0.0.1", port: 7000 + i },
      boot: 1,
      seq: 0,
      nextBeatMs: rng() * options.heartbeatIntervalMs,
      isAlive: true,
      killedMs: 0,
      restartMs: Number.POSITIVE_INFINITY,
      lastLost: false,
    });
  }
  const byId = new Map(calculators.map((c) => [c.id, c]));
  const endMs = 1.5 * options.killCount * options.killEveryMs + 4 * options.heartbeatTimeoutMs; // after the last kill
  const stallPhaseMs = rng() * options.stallEveryMs;
  /** BOUNDED: heartbeats in flight, at most one per calculator per interval of network delay. */
  const inFlight: Arrival[] = [];
  const detectionMs: number[] = [];
  let heartbeatCount = 0;
  let falseDeathCount = 0;
  let queuedFalseDeathCount = 0;
  let stallCount = 0;
  let killedCount = 0;
  // Kills at random times (mean spacing killEveryMs), so they fall at every phase of the stall cycle.
  const killGapMs = (): number => options.killEveryMs * (0.5 + rng());
  let nextKillMs = killGapMs();
  let lastEventMs = 0;
  let lastTickMs = Number.NEGATIVE_INFINITY;
  let safetyDueMs = SAFETY_TICK_MS;

  const stallAt = (atMs: number): { startMs: number; endMs: number } | undefined => {
    const k = Math.floor((atMs - stallPhaseMs) / options.stallEveryMs);
    const startMs = stallPhaseMs + k * options.stallEveryMs;
    return atMs >= startMs && atMs < startMs + options.stallMs
      ? { startMs, endMs: startMs + options.stallMs }
      : undefined;
  };
  const timerDueMs = (): number => {
    const deadlineMs = core.nextDeadlineMs();
    const armedMs =
      deadlineMs === undefined ? Number.POSITIVE_INFINITY : Math.max(deadlineMs, lastTickMs + options.tickSpacingMs);
    return Math.min(armedMs, safetyDueMs);
  };
  const tick = (nowMs: number, dueMs: number): void => {
    if (options.isLagAware && nowMs - dueMs >= STALL_MS_MIN) core.noteLoopStall(nowMs, lastEventMs);
    if (dueMs === safetyDueMs) safetyDueMs = nowMs + SAFETY_TICK_MS;
    lastTickMs = nowMs;
    lastEventMs = nowMs;
    for (const output of core.onTick(nowMs)) {
      if (output.kind !== "calculator_dead") continue;
      const calculator = byId.get(output.calculatorId) as Calculator;
      if (!calculator.isAlive) {
        detectionMs.push(nowMs - calculator.killedMs);
        calculator.restartMs = nowMs + 1_000;
        continue;
      }
      falseDeathCount += 1;
      if (inFlight.some((a) => a.calculator === calculator && a.atMs <= nowMs)) queuedFalseDeathCount += 1;
    }
  };
  const deliver = (arrival: Arrival, nowMs: number): void => {
    lastEventMs = nowMs;
    core.onPacket(nowMs, arrival.calculator.endpoint, arrival.packet);
  };
  // Restarts the killed calculators due by nowMs; sends every heartbeat due before `untilMs` (or loses it).
  const sendHeartbeats = (nowMs: number, untilMs: number): void => {
    for (const c of calculators) {
      if (!c.isAlive && c.restartMs <= nowMs) {
        c.isAlive = true;
        c.boot += 1;
        c.seq = 0;
        c.nextBeatMs = c.restartMs;
      }
      while (c.isAlive && c.nextBeatMs <= untilMs) {
        const sentMs = c.nextBeatMs + randomBetween(rng, 0, options.sendJitterMs);
        c.nextBeatMs += options.heartbeatIntervalMs;
        c.seq += 1;
        heartbeatCount += 1;
        const isLost = !c.lastLost && rng() < options.lossProbability;
        c.lastLost = isLost;
        if (isLost) continue;
        const atMs = sentMs + randomBetween(rng, 1, options.networkDelayMsMax);
        const packet: CalcHeartbeat = {
          v: 1,
          type: "calc.heartbeat",
          from: c.id,
          boot: c.boot,
          seq: c.seq,
          capacity: 2,
          running: 0,
        };
        inFlight.push({ sentMs, atMs, calculator: c, packet });
      }
    }
    inFlight.sort((a, b) => a.atMs - b.atMs);
  };

  let nowMs = 0;
  while (nowMs < endMs) {
    sendHeartbeats(nowMs, nowMs + options.heartbeatIntervalMs);
    const arrivalMs = inFlight[0]?.atMs ?? Number.POSITIVE_INFINITY;
    const dueMs = timerDueMs();
    const eventMs = Math.min(arrivalMs, dueMs, nextKillMs);
    if (eventMs === nextKillMs) {
      const victim = killOne(calculators, core, rng, eventMs);
      // SIGKILL: what it had sent still lands; what it would have sent later never leaves.
      for (let i = inFlight.length - 1; i >= 0; i -= 1) {
        const arrival = inFlight[i] as Arrival;
        if (arrival.calculator === victim && arrival.sentMs > eventMs) inFlight.splice(i, 1);
      }
      killedCount += 1;
      nextKillMs = killedCount < options.killCount ? nextKillMs + killGapMs() : Number.POSITIVE_INFINITY;
      nowMs = eventMs;
      continue;
    }
    const stall = stallAt(eventMs);
    if (stall === undefined) {
      nowMs = eventMs;
      if (dueMs <= arrivalMs) tick(nowMs, dueMs);
      else deliver(inFlight.shift() as Arrival, nowMs);
      continue;
    }
    // The loop was blocked: at the stall's end the overdue timer runs first, then the backlog is read.
    stallCount += 1;
    nowMs = stall.endMs;
    // Every overdue timer (the armed one, then perhaps the safety tick) before any datagram.
    for (let due = dueMs; due <= nowMs; due = timerDueMs()) tick(nowMs, due);
    while ((inFlight[0]?.atMs ?? Number.POSITIVE_INFINITY) <= nowMs) deliver(inFlight.shift() as Arrival, nowMs);
  }
  return {
    simulatedS: endMs / 1_000,
    stallCount,
    heartbeatCount,
    falseDeathCount,
    queuedFalseDeathCount,
    killCount: killedCount,
    detectionMs: detectionMs.sort((a, b) => a - b),
  };
}

/** Kills a random calculator at `nowMs` that is up and that the dispatcher holds alive. */
function killOne(
  calculators: readonly Calculator[],
  core: DispatcherCore,
  rng: () => number,
  nowMs: number,
): Calculator {
  const live = calculators.filter((c) => c.isAlive && core.registry.get(c.id)?.isAlive === true);
  assert(live.length > 0, "some calculator is alive to kill");
  const victim = live[Math.floor(rng() * live.length)] as Calculator;
  victim.isAlive = false;
  victim.killedMs = nowMs;
  victim.restartMs = Number.POSITIVE_INFINITY;
  return victim;
}
