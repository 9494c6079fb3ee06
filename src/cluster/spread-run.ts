/**
 * run-cluster --overlay FILE --spread N [--stats-json FILE] (SPEC.md section 7): starts the overlay
 * (a dispatcher and one calculator per topology node, no client), spreads N tasks with one Finn wave
 * through the dispatcher, waits for their final answers, prints each node's share, checks every result
 * and prints (and writes) the statistics of section 4 for those N tasks. Latency is from the spread
 * request to the moment the dispatcher's progress counted the answer (polled every POLL_MS, so exact
 * to about that). Every child is stopped by PID at the end.
 */
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

import { evaluateTask } from "../calculator/evaluate.js";
import { type OperatorLink, openOperatorLink } from "../cli/operator-link.js";
import { queryTask } from "../cli/operator-verbs.js";
import { formatSpread, paddedSpreadRequest } from "../cli/spread-verb.js";
import { type ClientStatistics, formatStatsTable } from "../client/stats.js";
import { parseHostPort } from "../config/load.js";
import { LatencyRecorder } from "../metrics/latency.js";
import { loadTopologyFile } from "../overlay/files.js";
import type { AdminSpreadResult } from "../protocol/spread-packets.js";
import { spreadTaskId, spreadTaskInput } from "../protocol/spread-packets.js";
import { type Child, spawnChild, stopChildren } from "./children.js";
import {
  killOnExit,
  type LocalClusterOptions,
  STOP_GRACE_MS,
  startDispatcherChild,
  waitForRegistrations,
  writePids,
  writeRunConfigs,
} from "./local-cluster.js";
import { freePorts, writeNodeConfigs } from "./overlay-cluster.js";

/** What a spread run needs. */
export interface SpreadRunOptions extends LocalClusterOptions {
  readonly topologyPath: string;
  readonly queueMax: number;
  readonly spreadCount: number;
  readonly statsJsonPath: string | undefined;
}

/** Progress is polled this often (ms): the latency figures are exact to about this. */
const POLL_MS = 100;
/** Longest wait for every answer (ms). */
const ANSWERS_WAIT_MS = 600_000;
/** Longest wait for every node to register (ms). */
const REGISTER_WAIT_MS = 60_000;

/** Spreads `count` tasks and waits for every final answer, recording when each was counted. */
async function spreadAndWait(
  link: OperatorLink,
  count: number,
  rounds: number,
  latency: LatencyRecorder,
): Promise<{ result: AdminSpreadResult | undefined; requestId: string }> {
  const requestId = randomUUID();
  const request = paddedSpreadRequest(requestId, count, rounds);
  const startMs = performance.now();
  let answered = 0;
  let result: AdminSpreadResult | undefined;
  while (performance.now() - startMs < ANSWERS_WAIT_MS) {
    const answer = await link.ask(
      request,
      (p) => (p.type === "admin.spread.result" && p.requestId === requestId ? p : undefined),
      2_000,
    );
    if (answer !== undefined) {
      result = answer;
      if (answer.status === "no_overlay" || answer.status === "overloaded") break;
      const now = answer.succeededCount + answer.failedCount;
      for (; answered < now; answered += 1) latency.recordMs(performance.now() - startMs);
      if (answer.status !== "spreading" && now >= count) break;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return { result, requestId };
}

/** Asks for every task's answer and counts the results that do not verify. */
async function countWrong(link: OperatorLink, requestId: string, count: number, rounds: number): Promise<number> {
  let wrong = 0;
  for (let i = 0; i < count; i += 1) {
    const view = await queryTask(link, spreadTaskId(requestId, i), 5_000);
    if (view?.state === "succeeded" && view.result !== evaluateTask(spreadTaskInput(requestId, i), rounds)) wrong += 1;
  }
  return wrong;
}

/** The section 4 statistics of a spread batch. */
function statisticsOf(
  result: AdminSpreadResult | undefined,
  count: number,
  wrong: number,
  durationS: number,
  latency: LatencyRecorder,
): ClientStatistics {
  const succeeded = (result?.succeededCount ?? 0) - wrong;
  const failed = (result?.failedCount ?? 0) + wrong;
  return {
    sent: count,
    received: succeeded + failed,
    succeeded,
    failed,
    unanswered: count - succeeded - failed,
    wrong,
    duplicates: 0,
    durationS: Math.round(durationS * 1_000) / 1_000,
    latencyMs: latency.summaryMs(),
  };
}

/** Starts the overlay, spreads the batch, prints shares and statistics; resolves with the exit code. */
export async function runOverlaySpread(options: SpreadRunOptions): Promise<number> {
  const topology = loadTopologyFile(options.topologyPath);
  const configs = writeRunConfigs(options);
  const ports = await freePorts(topology.size);
  const nodeConfigs = writeNodeConfigs(options.runDir, options.topologyPath, topology, ports, {
    ...options,
    rebalanceIntervalMs: 0,
  });
  const common = ["--json-logs", "--log-level", options.logLevel];
  const children: Child[] = [];
  killOnExit(children);
  try {
    const { child: dispatcher, address } = await startDispatcherChild(options.runDir, configs.dispatcher, common);
    children.push(dispatcher);
    const registered = waitForRegistrations(dispatcher, topology.size, REGISTER_WAIT_MS);
    topology.ids.forEach((id, i) => {
      const args = ["-s", nodeConfigs[i] as string, "--dispatcher", address, ...common];
      children.push(
        spawnChild({
          name: `node-${id}`,
          bin: "run-calculator",
          args,
          logPath: join(options.runDir, `node-${id}.log`),
        }),
      );
    });
    writePids(options.runDir, children);
    options.say(
      `dispatcher on ${address}; ${await registered}/${topology.size} overlay nodes registered; spreading ${options.spreadCount} tasks`,
    );
    const link = await openOperatorLink(parseHostPort(address, "dispatcher"), address, undefined);
    const latency = new LatencyRecorder();
    const startMs = performance.now();
    try {
      const { result, requestId } = await spreadAndWait(link, options.spreadCount, options.rounds, latency);
      const durationS = (performance.now() - startMs) / 1_000;
      if (result !== undefined) options.say(formatSpread(result, true));
      const wrong = await countWrong(link, requestId, options.spreadCount, options.rounds);
      const stats = statisticsOf(result, options.spreadCount, wrong, durationS, latency);
      const text = `${JSON.stringify(stats, null, 2)}\n`;
      writeFileSync(join(options.runDir, "stats.json"), text);
      if (options.statsJsonPath !== undefined) writeFileSync(options.statsJsonPath, text);
      process.stdout.write(`${formatStatsTable(stats)}\n`);
      return stats.succeeded === options.spreadCount ? 0 : 1;
    } finally {
      await link.close();
    }
  } finally {
    await stopChildren(children, STOP_GRACE_MS);
    options.say(`stopped ${children.length} processes; logs in ${options.runDir}`);
  }
}
