/**
 * `run-dispatcher --config FILE`: validates the config (flags override file, file overrides
 * defaults), binds the UDP socket and runs the dispatcher until SIGINT/SIGTERM.
 */

import { randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { Command } from "commander";

import { createAdminPlane } from "../admin/start.js";
import { PACKAGE_ROOT } from "../cluster/children.js";
import { loadConfigFile, parseConfig, parseHostPort } from "../config/load.js";
import { DispatcherFileConfig } from "../config/schema.js";
import { startDispatcher } from "../dispatcher/daemon.js";
import type { DispatcherCoreConfig } from "../dispatcher/types.js";
import { threadWriterOf } from "../journal/journal-thread.js";
import { SqliteJournalStore } from "../journal/sqlite-store.js";
import { createPlacementPolicy } from "../placement/policies.js";
import { systemClock } from "../runtime/clock.js";
import { seededRng } from "../runtime/rng.js";
import { flushAfterIo } from "../shell/send-batcher.js";
import {
  type CommonFlags,
  loggerFor,
  onShutdownSignal,
  parseNumberFlag,
  runMain,
  withCommonOptions,
} from "./common.js";
import { openEdge } from "./edge.js";

interface DispatcherFlags extends CommonFlags {
  config?: string;
  listen?: string;
  heartbeatTimeoutMs?: string;
  taskTimeoutMs?: string;
  queueTimeoutMs?: string;
  keyFile?: string;
  journal?: string;
  admin?: string;
}

/** This package's version, for /status. */
const PACKAGE_VERSION = (JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string })
  .version;

/** host:port, with IPv6 hosts in brackets. */
function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** How often the dispatcher logs its counters at info while it runs (ms). */
const COUNTERS_LOG_MS = 10_000;

/**
 * Turns the validated file config into core settings. `placementSeed` seeds the policies that draw
 * (random, power-of-two); by default a fresh one from crypto each start.
 */
export function dispatcherCoreConfig(
  file: DispatcherFileConfig,
  placementSeed: number = randomInt(2 ** 32),
): DispatcherCoreConfig {
  return {
    nodeId: file.nodeId,
    heartbeatTimeoutMs: file.heartbeatTimeoutMs,
    evictAfterMs: file.calculatorEvictAfterMs,
    calculatorsMax: file.calculatorsMax,
    taskTimeoutMs: file.taskTimeoutMs,
    queueTimeoutMs: file.queueTimeoutMs,
    tasksMax: file.tasksMax,
    queueMax: file.queueMax,
    resultsMax: file.results.max,
    resultsTtlMs: file.results.ttlMs,
    ackDelayMs: file.ackDelayMs,
    assignRetryMs: file.assignRetryMs,
    probeIntervalMs: file.probeIntervalMs,
    placement: createPlacementPolicy(file.placement, { rng: seededRng(placementSeed) }),
    failureHalfLifeMs: file.failureHalfLifeMs,
    replication: file.replication,
    hedging: file.hedging,
  };
}

function resolveConfig(flags: DispatcherFlags): DispatcherFileConfig {
  const file = loadConfigFile(DispatcherFileConfig, flags.config);
  const merged = {
    ...file,
    ...(flags.keyFile === undefined ? {} : { auth: { keyFile: flags.keyFile } }),
    ...(flags.listen === undefined ? {} : { listen: parseHostPort(flags.listen, "--listen") }),
    ...(flags.heartbeatTimeoutMs === undefined
      ? {}
      : { heartbeatTimeoutMs: parseNumberFlag(flags.heartbeatTimeoutMs, "--heartbeat-timeout-ms", 1, 86_400_000) }),
    ...(flags.taskTimeoutMs === undefined
      ? {}
      : { taskTimeoutMs: parseNumberFlag(flags.taskTimeoutMs, "--task-timeout-ms", 1, 86_400_000) }),
    ...(flags.queueTimeoutMs === undefined
      ? {}
      : { queueTimeoutMs: parseNumberFlag(flags.queueTimeoutMs, "--queue-timeout-ms", 1, 86_400_000) }),
    ...(flags.journal === undefined ? {} : { journal: { ...file.journal, path: flags.journal } }),
    ...(flags.admin === undefined
      ? {}
      : { admin: flags.admin === "off" ? null : parseHostPort(flags.admin, "--admin") }),
  };
  const config = parseConfig(DispatcherFileConfig, merged, flags.config ?? "the command line");
  return config;
}

/** Entry point of bin/run-dispatcher. */
export async function main(argv: readonly string[]): Promise<void> {
  await runMain(async () => {
    const program = withCommonOptions(new Command("run-dispatcher"))
      .description("Run a dispatcher: accepts tasks from clients and places them on calculators.")
      .option("-c, --config <file>", "dispatcher config file (JSON, see docs/CONFIG.md)")
      .option("--listen <host:port>", "UDP address to listen on (overrides listen)")
      .option("--heartbeat-timeout-ms <ms>", "declare a silent calculator dead after this long")
      .option("--task-timeout-ms <ms>", "re-place a task whose calculator has not answered in this time")
      .option("--queue-timeout-ms <ms>", "fail a task not completed this long after it arrived")
      .option("--key-file <file>", "authenticate every datagram with this key file (auth.keyFile, docs/SECURITY.md)")
      .option("--journal <file>", "keep tasks and answers in this journal file (overrides journal.path)")
      .option("--admin <host:port|off>", "admin HTTP address (/metrics, /status, dashboard); off turns it off");
    program.parse([...argv], { from: "user" });
    const flags = program.opts<DispatcherFlags>();
    const config = resolveConfig(flags);
    const log = loggerFor("dispatcher", config.nodeId, flags);
    const store =
      config.journal.path === null
        ? undefined
        : new SqliteJournalStore({
            path: config.journal.path,
            sync: config.journal.sync,
            maxBytes: config.journal.maxBytes,
          });
    const transport = await openEdge({
      host: config.listen.host,
      port: config.listen.port,
      what: "dispatcher",
      keyFile: config.auth.keyFile,
      log,
    });
    const admin = config.admin === null ? undefined : createAdminPlane();
    const dispatcher = startDispatcher({
      config: dispatcherCoreConfig(config),
      tickMs: config.tickMs,
      transport,
      clock: systemClock,
      scheduleFlush: flushAfterIo,
      log,
      ...(store === undefined
        ? {}
        : {
            journal: {
              store,
              wallMs: () => Date.now(),
              scheduleCommit: flushAfterIo,
              openWriter: () => threadWriterOf(store),
            },
          }),
      ...(admin === undefined ? {} : { observe: admin.observe }),
    });
    const server =
      admin === undefined || config.admin === null
        ? undefined
        : await admin.listen(
            config.admin.host,
            config.admin.port,
            {
              core: dispatcher.core,
              nodeId: config.nodeId,
              version: PACKAGE_VERSION,
              startedMs: systemClock.nowMs(),
            },
            {
              datagramsReceived: () => dispatcher.host.datagramsReceivedCount,
              datagramsSent: () => dispatcher.host.sendCounts().datagrams_sent,
              rejected: () => dispatcher.host.rejected,
            },
            () => systemClock.nowMs(),
          );
    log.info(
      {
        host: transport.local.host,
        port: transport.local.port,
        config: flags.config ?? null,
        journal: config.journal.path,
        admin: server === undefined ? null : `http://${formatHostPort(server.host, server.port)}/`,
      },
      "dispatcher started",
    );
    const countersTimer = setInterval(() => {
      log.info({ counters: dispatcher.snapshot(), tasks: dispatcher.core.counts() }, "counters");
    }, COUNTERS_LOG_MS);
    countersTimer.unref();
    onShutdownSignal(async (signal) => {
      log.info({ signal }, "stopping");
      clearInterval(countersTimer);
      await server?.close();
      await dispatcher.stop();
      process.exit(0);
    });
  });
}
