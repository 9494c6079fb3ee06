/**
 * `run-client [-s FILE]`: sends tasks, verifies every answer and prints the statistics of SPEC
 * section 4 on SIGINT/SIGTERM or at the end of a --count / --duration-s run, then exits 0.
 */
import { randomUUID } from "node:crypto";
import { closeSync, createWriteStream, openSync, type WriteStream, writeFileSync } from "node:fs";

import { Command } from "commander";

import { evaluateTask } from "../calculator/evaluate.js";
import { startClient } from "../client/daemon.js";
import { formatStatsTable } from "../client/stats.js";
import type { ClientCoreConfig } from "../client/types.js";
import { ConfigError, loadConfigFile, parseConfig, parseHostPort } from "../config/load.js";
import { ClientFileConfig } from "../config/schema.js";
import { systemClock } from "../runtime/clock.js";
import { watchPeer } from "../shell/peer-watch.js";
import { flushAfterIo } from "../shell/send-batcher.js";
import { startDispatcherView } from "./client-survived.js";
import {
  type CommonFlags,
  loggerFor,
  onShutdownSignal,
  osSeededRng,
  parseNumberFlag,
  parseRangeFlag,
  runMain,
  withCommonOptions,
} from "./common.js";
import { openEdge } from "./edge.js";
import { startProgress } from "./progress.js";

interface ClientFlags extends CommonFlags {
  settings?: string;
  count?: string;
  durationS?: string;
  statsJson?: string;
  results?: string;
  concurrency?: string;
  dispatcher?: string;
  rounds?: string;
  intervalMs?: string;
  timeoutMs?: string;
  warmupS?: string;
  quiet?: boolean;
  keyFile?: string;
  priority?: string;
}

/**
 * Refuses at start (exit 2) an output file that cannot be written, instead of failing after the run.
 * Opens for append, so an existing file is not truncated before the run has something to write.
 */
function checkWritable(path: string | undefined, flag: string): void {
  if (path === undefined) return;
  try {
    closeSync(openSync(path, "a"));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new ConfigError(`Flag ${flag} names ${path}, which cannot be written (${code}); choose a writable path.`, {
      cause: error,
    });
  }
}

interface RunLimits {
  readonly countMax: number | undefined;
  readonly durationMs: number | undefined;
  readonly concurrency: number | undefined;
  /** Latency warm-up (--warmup-s), in ms; 0 counts every task. */
  readonly latencyWarmupMs: number;
}

function resolveConfig(flags: ClientFlags): ClientFileConfig {
  const file = loadConfigFile(ClientFileConfig, flags.settings);
  const merged = {
    ...file,
    ...(flags.keyFile === undefined ? {} : { auth: { keyFile: flags.keyFile } }),
    ...(flags.dispatcher === undefined ? {} : { dispatcher: parseHostPort(flags.dispatcher, "--dispatcher") }),
    ...(flags.rounds === undefined ? {} : { rounds: parseNumberFlag(flags.rounds, "--rounds", 1, 1_000_000) }),
    ...(flags.intervalMs === undefined ? {} : { intervalMs: parseRangeFlag(flags.intervalMs, "--interval-ms") }),
    ...(flags.timeoutMs === undefined
      ? {}
      : { requestTimeoutMs: parseNumberFlag(flags.timeoutMs, "--timeout-ms", 1, 86_400_000) }),
  };
  return parseConfig(ClientFileConfig, merged, flags.settings ?? "the command line");
}

function resolveLimits(flags: ClientFlags): RunLimits {
  const limits = {
    countMax: flags.count === undefined ? undefined : parseNumberFlag(flags.count, "--count", 1, 100_000_000),
    durationMs:
      flags.durationS === undefined
        ? undefined
        : Math.round(parseNumberFlag(flags.durationS, "--duration-s", 0.001, 31_536_000, false) * 1_000),
    concurrency:
      flags.concurrency === undefined ? undefined : parseNumberFlag(flags.concurrency, "--concurrency", 1, 100_000),
    latencyWarmupMs:
      flags.warmupS === undefined
        ? 0
        : Math.round(parseNumberFlag(flags.warmupS, "--warmup-s", 0, 31_536_000, false) * 1_000),
  };
  return limits;
}

/** Turns validated settings and run limits into core settings. */
export function clientCoreConfig(file: ClientFileConfig, limits: RunLimits, clientId: string): ClientCoreConfig {
  if (limits.concurrency !== undefined && limits.concurrency > file.pendingMax) {
    throw new ConfigError(
      `Flag --concurrency is ${limits.concurrency}, above pendingMax (${file.pendingMax}); raise pendingMax or lower --concurrency.`,
    );
  }
  return {
    clientId,
    dispatcher: file.dispatcher,
    intervalMs: file.intervalMs,
    requestTimeoutMs: file.requestTimeoutMs,
    rounds: file.rounds,
    countMax: limits.countMax,
    durationMs: limits.durationMs,
    concurrency: limits.concurrency,
    submitRetryMs: file.submitRetryMs,
    keepaliveMs: file.keepaliveMs,
    pendingMax: file.pendingMax,
    answeredCacheMax: Math.max(10_000, file.pendingMax * 4),
    inputChars: file.inputChars,
  };
}

function openResults(path: string | undefined): WriteStream | undefined {
  if (path === undefined) return undefined;
  const stream = createWriteStream(path, { flags: "w" });
  stream.on("error", (error) => {
    process.stderr.write(`cannot write --results file ${path}: ${error.message}\n`);
  });
  return stream;
}

/** How often the client logs its counters at info while it runs (ms). */
const COUNTERS_LOG_MS = 10_000;

/** Entry point of bin/run-client. */
export async function main(argv: readonly string[]): Promise<void> {
  await runMain(async () => {
    const program = withCommonOptions(new Command("run-client"))
      .description("Send tasks to a dispatcher at random intervals, verify answers, print statistics on exit.")
      .option("-s, --settings <file>", "client settings file (JSON, see docs/CONFIG.md)")
      .option("--count <n>", "send N tasks, wait for every answer or timeout, print statistics, exit")
      .option("--duration-s <s>", "stop sending after S seconds, wait as for --count, print, exit")
      .option("--stats-json <file>", "also write the statistics as JSON to FILE at the end")
      .option("--results <file>", "write one JSON line per task to FILE")
      .option("--concurrency <w>", "closed loop: keep W tasks outstanding instead of waiting intervalMs")
      .option("--dispatcher <host:port>", "dispatcher address (overrides dispatcher)")
      .option("--rounds <n>", "SHA-256 rounds per task")
      .option("--interval-ms <min,max>", "random pause between sends")
      .option("--timeout-ms <ms>", "give up on a task after this long (requestTimeoutMs)")
      .option("--warmup-s <s>", "leave tasks sent in the first S seconds out of the latency statistics (JIT warm-up)")
      .option("--priority <p>", "priority of every task, 0..9 (higher runs first)")
      .option("--quiet", "no progress line and only warnings in the log")
      .option("--key-file <file>", "authenticate every datagram with this key file (auth.keyFile, docs/SECURITY.md)");
    program.parse([...argv], { from: "user" });
    const flags = program.opts<ClientFlags>();
    if (flags.quiet === true && flags.logLevel === "info") flags.logLevel = "warn";
    const file = resolveConfig(flags);
    const limits = resolveLimits(flags);
    const clientId = file.id ?? `client-${randomUUID().slice(0, 8)}`;
    const priority = flags.priority === undefined ? undefined : parseNumberFlag(flags.priority, "--priority", 0, 9);
    checkWritable(flags.statsJson, "--stats-json");
    checkWritable(flags.results, "--results");
    const config = { ...clientCoreConfig(file, limits, clientId), ...(priority === undefined ? {} : { priority }) };
    const log = loggerFor("client", clientId, flags);
    const results = openResults(flags.results);
    // SPEC section 3: a client takes packets only from its dispatcher.
    const edge = await openEdge({
      // An IPv6 dispatcher ([::1]:P) needs an IPv6 socket; an IPv4 one never reaches it.
      host: config.dispatcher.host.includes(":") ? "::" : "0.0.0.0",
      port: 0,
      what: "client",
      keyFile: file.auth.keyFile,
      acceptFrom: [config.dispatcher],
      log,
    });
    // SPEC 8: a dispatcher that does not answer is named at warn (the edge lets only it through).
    const { transport } = watchPeer({
      transport: edge,
      peer: config.dispatcher,
      peerName: "dispatcher",
      nodeId: clientId,
      isPeer: () => true,
      log,
      nowMs: () => systemClock.nowMs(),
    });
    const startedMs = systemClock.nowMs();
    const dispatcherView = startDispatcherView(transport, config.dispatcher, clientId);
    const client = startClient({
      config,
      tickMs: file.tickMs,
      transport,
      clock: systemClock,
      scheduleFlush: flushAfterIo,
      latencyWarmupMs: limits.latencyWarmupMs,
      rng: osSeededRng(),
      newTaskId: randomUUID,
      verify: (input, rounds, result) => evaluateTask(input, rounds) === result,
      log,
      onRecord: (record) => results?.write(`${JSON.stringify(record)}\n`),
      divert: (nowMs, _from, packet) => dispatcherView.view.onPacket(nowMs, packet),
    });
    log.info({ dispatcher: config.dispatcher, port: transport.local.port, ...limits }, "client started");
    const progress = flags.quiet === true ? undefined : startProgress(client, startedMs, dispatcherView.view);
    // Counters while running (not only at the end), at info every COUNTERS_LOG_MS.
    const countersTimer = setInterval(() => {
      const stats = client.stats.snapshot((systemClock.nowMs() - startedMs) / 1_000);
      const { latencyMs: _latency, ...counts } = stats;
      log.info({ counters: counts }, "counters");
    }, COUNTERS_LOG_MS);
    countersTimer.unref();
    let isEnding = false;
    const finish = async (): Promise<void> => {
      if (isEnding) return;
      isEnding = true;
      clearInterval(countersTimer);
      progress?.stop();
      const endedMs = systemClock.nowMs();
      client.core.stopSending(); // no new task while the dispatcher's last picture is awaited
      await dispatcherView.finish();
      const survived = dispatcherView.survived(client);
      await client.stop();
      const stats = client.stats.snapshot((endedMs - startedMs) / 1_000);
      const warmupS = limits.latencyWarmupMs / 1_000;
      process.stdout.write(`${formatStatsTable(stats, client.stats.failureReasons, warmupS, survived)}\n`);
      if (flags.statsJson !== undefined) writeFileSync(flags.statsJson, `${JSON.stringify(stats, null, 2)}\n`);
      if (results !== undefined) await new Promise<void>((resolve) => results.end(resolve));
      process.exit(0);
    };
    onShutdownSignal(finish);
    if (limits.countMax !== undefined || limits.durationMs !== undefined) await client.finished.then(finish);
  });
}
