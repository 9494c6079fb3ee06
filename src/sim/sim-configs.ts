/**
 * Core settings for simulations: the shipped defaults scaled down so a run of a few simulated
 * minutes exercises every timeout many times over.
 */
import type { CalculatorCoreConfig } from "../calculator/types.js";
import type { ClientCoreConfig } from "../client/types.js";
import type { DispatcherCoreConfig } from "../dispatcher/types.js";
import { leastLoaded } from "../placement/least-loaded.js";
import type { Endpoint } from "../transport/transport.js";

/** Dispatcher settings used by the simulations. */
export function simDispatcherConfig(overrides: Partial<DispatcherCoreConfig> = {}): DispatcherCoreConfig {
  return {
    nodeId: "dispatcher",
    heartbeatTimeoutMs: 400,
    evictAfterMs: 4_000,
    calculatorsMax: 64,
    taskTimeoutMs: 1_500,
    queueTimeoutMs: 60_000,
    tasksMax: 256,
    queueMax: 128,
    resultsMax: 1_024,
    resultsTtlMs: 120_000,
    ackDelayMs: 40,
    assignRetryMs: [60, 120, 240],
    probeIntervalMs: 300,
    placement: leastLoaded,
    ...overrides,
  };
}

/** Calculator settings used by the simulations (no emulated failures unless overridden). */
export function simCalculatorConfig(
  nodeId: string,
  boot: number,
  dispatcher: Endpoint,
  overrides: Partial<CalculatorCoreConfig> = {},
): CalculatorCoreConfig {
  return {
    nodeId,
    boot,
    dispatcher,
    capacity: 2,
    queueMax: 0,
    computeMs: { min: 20, max: 400 },
    heartbeatIntervalMs: 100,
    failure: { probability: 0, checkIntervalMs: 1_000, durationMs: { min: 200, max: 800 } },
    corruption: { probability: 0 },
    resultsCacheMax: 256,
    resultsCacheTtlMs: 60_000,
    ackDelayMs: 40,
    ...overrides,
  };
}

/** Client settings used by the simulations. */
export function simClientConfig(dispatcher: Endpoint, overrides: Partial<ClientCoreConfig> = {}): ClientCoreConfig {
  return {
    clientId: "client-sim",
    dispatcher,
    intervalMs: { min: 5, max: 120 },
    requestTimeoutMs: 180_000,
    rounds: 2,
    countMax: 30,
    durationMs: undefined,
    concurrency: undefined,
    submitRetryMs: [80, 160, 320],
    keepaliveMs: 600,
    pendingMax: 256,
    answeredCacheMax: 4_096,
    inputChars: 12,
    ...overrides,
  };
}
