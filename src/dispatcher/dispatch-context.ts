/**
 * Builds the DispatchContext DispatcherCore works over: the task table, trust, hedging state and
 * cancels, with the replication settings' defaults filled in and checked. Pure construction.
 */
import { assert } from "../runtime/assert.js";
import { CancelSender } from "./cancels.js";
import { HedgeBudget, LatencySample } from "./hedging.js";
import type { DispatchContext, ReplicationSettings } from "./placement.js";
import type { CalculatorRegistry } from "./registry.js";
import { TaskTable } from "./task-table.js";
import { TRUST_RUN_MIN, TrustBook } from "./trust.js";
import type { DispatcherCoreConfig } from "./types.js";

/** `config.replication` with defaults: absent means plain execution (k = q = maxCopies = 1). */
export function replicationSettings(config: DispatcherCoreConfig): ReplicationSettings {
  const replication = {
    factor: config.replication?.factor ?? 1,
    quorum: config.replication?.quorum ?? 1,
    maxCopies: config.replication?.maxCopies ?? config.replication?.factor ?? 1,
    adaptive: config.replication?.adaptive ?? false,
    trustRunMin: config.replication?.trustRunMin ?? TRUST_RUN_MIN,
  };
  assert(1 <= replication.quorum && replication.quorum <= replication.factor, "need 1 <= quorum <= factor");
  assert(replication.maxCopies >= replication.factor, "need maxCopies >= factor");
  return replication;
}

/** A fresh context; `fail` is the core's way to give a task its final failure. */
export function newDispatchContext(
  config: DispatcherCoreConfig,
  registry: CalculatorRegistry,
  fail: DispatchContext["fail"],
): DispatchContext {
  const replication = replicationSettings(config);
  // Live copies of one task at most: maxCopies, plus one hedge per copy when hedging.
  const copiesPerTaskMax = replication.maxCopies * (config.hedging?.enabled === true ? 2 : 1);
  return {
    config,
    registry,
    table: new TaskTable(config, registry, copiesPerTaskMax),
    replication,
    hedging: config.hedging,
    trust: new TrustBook(replication.trustRunMin, config.calculatorsMax),
    budget: new HedgeBudget(config.hedging?.budget ?? 0),
    latencies: new LatencySample(),
    cancels: new CancelSender(config.nodeId, config.tasksMax, config.assignRetryMs),
    copiesStarted: { primary: 0, replica: 0, hedge: 0, replacement: 0 },
    survived: { outageCount: 0, replacedCount: 0 },
    fail,
    hedgeWakeMs: Number.POSITIVE_INFINITY,
    probeWakeMs: Number.POSITIVE_INFINITY,
    claimHolds: new Map(),
  };
}
