/**
 * run-cluster's orchestration: writes short-timeout configs that show the system working within a
 * minute, starts a dispatcher, N calculators and a client, relays the client's progress and final
 * statistics, and stops every child it started (by PID) at the end, on Ctrl-C or on error.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { type Child, type LogLine, signalChild, spawnChild, stopChildren } from "./children.js";

/** What to run. */
export interface LocalClusterOptions {
  readonly calculatorCount: number;
  readonly capacity: number;
  readonly computeMs: { readonly min: number; readonly max: number };
  readonly failureProbability: number;
  readonly corruptionProbability: number;
  readonly intervalMs: { readonly min: number; readonly max: number };
  readonly rounds: number;
  /** Closed loop: the client keeps this many tasks outstanding (undefined: open loop on intervalMs). */
  readonly concurrency?: number;
  readonly durationS: number | undefined;
  readonly count: number | undefined;
  readonly runDir: string;
  readonly logLevel: string;
  /** Prints one line of status for the operator (stderr). */
  readonly say: (text: string) => void;
}

const DISPATCHER_START_MS = 10_000;
const REGISTER_WAIT_MS = 10_000;
/** Grace before SIGKILL when stopping children (ms). */
export const STOP_GRACE_MS = 5_000;

/** Calculator settings of a local demo run: short heartbeats, outages every few seconds if asked. */
export function demoCalculatorSettings(options: {
  readonly computeMs: { readonly min: number; readonly max: number };
  readonly failureProbability: number;
  readonly corruptionProbability: number;
}): Record<string, unknown> {
  return {
    computeMs: options.computeMs,
    heartbeatIntervalMs: 300,
    failure: {
      probability: options.failureProbability,
      checkIntervalMs: 5_000,
      durationMs: { min: 1_000, max: 3_000 },
    },
    corruption: { probability: options.corruptionProbability },
  };
}

/**
 * One line telling the operator that the calculators' outages and wrong results are emulated on
 * purpose (so "calculator outages" in the statistics read as survived faults, not as a malfunction);
 * undefined when neither is switched on.
 */
export function emulatedFaultsNote(options: {
  readonly failureProbability: number;
  readonly corruptionProbability: number;
}): string | undefined {
  const parts: string[] = [];
  if (options.failureProbability > 0)
    parts.push(`an outage of 1-3 s with probability ${options.failureProbability} every 5 s (--failure-probability)`);
  if (options.corruptionProbability > 0)
    parts.push(`a wrong result with probability ${options.corruptionProbability} (--corruption-probability)`);
  if (parts.length === 0) return undefined;
  return `faults on purpose: each calculator emulates ${parts.join(" and ")}; the cluster must survive them`;
}

/** Writes the configs this run uses into runDir (so the operator can read and reuse them). */
export function writeRunConfigs(options: LocalClusterOptions): {
  dispatcher: string;
  calculator: string;
  client: string;
} {
  mkdirSync(options.runDir, { recursive: true });
  const paths = {
    dispatcher: join(options.runDir, "dispatcher.json"),
    calculator: join(options.runDir, "calculator.json"),
    client: join(options.runDir, "client.json"),
  };
  const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
  writeFileSync(
    paths.dispatcher,
    json({
      listen: { host: "127.0.0.1", port: 0 },
      admin: { host: "127.0.0.1", port: 0 },
      heartbeatTimeoutMs: 1_500,
      taskTimeoutMs: 6_000,
      queueTimeoutMs: 30_000,
    }),
  );
  writeFileSync(
    paths.calculator,
    json({ listen: { host: "127.0.0.1", port: 0 }, capacity: options.capacity, ...demoCalculatorSettings(options) }),
  );
  writeFileSync(
    paths.client,
    json({ intervalMs: options.intervalMs, rounds: options.rounds, requestTimeoutMs: 45_000, keepaliveMs: 2_000 }),
  );
  return paths;
}

const isStarted = (line: LogLine): boolean => line.msg === "dispatcher started";

/** Starts the dispatcher child and resolves its `127.0.0.1:port` once it logged that it started. */
export async function startDispatcherChild(
  runDir: string,
  config: string,
  common: readonly string[],
): Promise<{ child: Child; address: string }> {
  const child = spawnChild({
    name: "dispatcher",
    bin: "run-dispatcher",
    args: ["-c", config, ...common, "--log-level", "info"],
    logPath: join(runDir, "dispatcher.log"),
  });
  const started = await Promise.race([
    child.waitForLog(isStarted, DISPATCHER_START_MS),
    child.exited.then((code) =>
      Promise.reject(new Error(`dispatcher exited with code ${code}; see ${runDir}/dispatcher.log`)),
    ),
  ]);
  return { child, address: `127.0.0.1:${String(started["port"])}` };
}

/**
 * Resolves with the number of registrations the dispatcher logs from now on, once `count` arrived
 * or REGISTER_WAIT_MS passed. Counts with a listener: several lines can arrive in one chunk, which
 * one-shot waiters would miss.
 */
export function waitForRegistrations(dispatcher: Child, count: number, waitMs = REGISTER_WAIT_MS): Promise<number> {
  let registeredCount = 0;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(registeredCount), waitMs);
    dispatcher.onLog((line) => {
      if (line.msg !== "calculator registered") return;
      registeredCount += 1;
      if (registeredCount === count) {
        clearTimeout(timer);
        resolve(registeredCount);
      }
    });
  });
}

/** Writes pids.json in runDir: every child this run started, for the operator and the tests. */
export function writePids(runDir: string, children: readonly Child[]): void {
  writeFileSync(join(runDir, "pids.json"), `${JSON.stringify(children.map((c) => ({ name: c.name, pid: c.pid })))}\n`);
}

/** Waits for the client to end, passing a Ctrl-C (or SIGTERM) on to it so it prints its statistics. */
export async function awaitClient(client: Child): Promise<number> {
  const onInterrupt = (): void => signalChild(client, "SIGINT");
  process.on("SIGINT", onInterrupt);
  process.on("SIGTERM", onInterrupt);
  const code = await client.exited;
  process.off("SIGINT", onInterrupt);
  process.off("SIGTERM", onInterrupt);
  return code;
}

/** Kills every child if this process exits unexpectedly. */
export function killOnExit(children: readonly Child[]): void {
  process.once("exit", () => {
    for (const child of children) signalChild(child, "SIGKILL");
  });
}

/** Runs the local cluster to the end of the client; resolves with the client's exit code. */
export async function runLocalCluster(options: LocalClusterOptions): Promise<number> {
  const configs = writeRunConfigs(options);
  const common = ["--json-logs", "--log-level", options.logLevel];
  const children: Child[] = [];
  killOnExit(children);
  try {
    const { child: dispatcher, address } = await startDispatcherChild(options.runDir, configs.dispatcher, common);
    children.push(dispatcher);
    options.say(`dispatcher on ${address}; logs and configs in ${options.runDir}`);
    const faultsNote = emulatedFaultsNote(options);
    if (faultsNote !== undefined) options.say(faultsNote);
    const registered = waitForRegistrations(dispatcher, options.calculatorCount);
    for (let i = 1; i <= options.calculatorCount; i += 1) {
      children.push(
        spawnChild({
          name: `calc-${i}`,
          bin: "run-calculator",
          args: ["-s", configs.calculator, "--id", `calc-${i}`, "--dispatcher", address, ...common],
          logPath: join(options.runDir, `calc-${i}.log`),
        }),
      );
    }
    const registeredCount = await registered;
    options.say(
      `${registeredCount}/${options.calculatorCount} calculators registered; starting the client (Ctrl-C stops it early)`,
    );
    const client = startClient(options, configs.client, address, common);
    children.push(client);
    writePids(options.runDir, children);
    return await awaitClient(client);
  } finally {
    await stopChildren(children, STOP_GRACE_MS);
    options.say(`stopped ${children.length} processes; statistics in ${join(options.runDir, "stats.json")}`);
  }
}

/** Starts the client in the foreground (its statistics table goes to our stdout). */
export function startClient(
  options: LocalClusterOptions,
  config: string,
  address: string,
  common: readonly string[],
): Child {
  const limits =
    options.count !== undefined
      ? ["--count", String(options.count)]
      : ["--duration-s", String(options.durationS ?? 20)];
  return spawnChild({
    name: "client",
    bin: "run-client",
    args: [
      "-s",
      config,
      "--dispatcher",
      address,
      ...limits,
      ...(options.concurrency === undefined ? [] : ["--concurrency", String(options.concurrency)]),
      "--stats-json",
      join(options.runDir, "stats.json"),
      "--results",
      join(options.runDir, "results.jsonl"),
      ...common,
      "--log-level",
      "warn",
    ],
    logPath: join(options.runDir, "client.log"),
    isForeground: true,
  });
}
