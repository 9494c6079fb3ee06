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
  readonly durationS: number | undefined;
  readonly count: number | undefined;
  readonly runDir: string;
  readonly logLevel: string;
  /** Prints one line of status for the operator (stderr). */
  readonly say: (text: string) => void;
}

const DISPATCHER_START_MS = 10_000;
const REGISTER_WAIT_MS = 10_000;
const STOP_GRACE_MS = 5_000;

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
      heartbeatTimeoutMs: 1_500,
      taskTimeoutMs: 6_000,
      queueTimeoutMs: 30_000,
    }),
  );
  writeFileSync(
    paths.calculator,
    json({
      listen: { host: "127.0.0.1", port: 0 },
      capacity: options.capacity,
      computeMs: options.computeMs,
      heartbeatIntervalMs: 300,
      failure: {
        probability: options.failureProbability,
        checkIntervalMs: 5_000,
        durationMs: { min: 1_000, max: 3_000 },
      },
      corruption: { probability: options.corruptionProbability },
    }),
  );
  writeFileSync(
    paths.client,
    json({ intervalMs: options.intervalMs, rounds: options.rounds, requestTimeoutMs: 45_000, keepaliveMs: 2_000 }),
  );
  return paths;
}

const isStarted = (line: LogLine): boolean => line.msg === "dispatcher started";

/** Runs the local cluster to the end of the client; resolves with the client's exit code. */
export async function runLocalCluster(options: LocalClusterOptions): Promise<number> {
  const configs = writeRunConfigs(options);
  const common = ["--json-logs", "--log-level", options.logLevel];
  const children: Child[] = [];
  const stopAll = async (): Promise<void> => stopChildren(children, STOP_GRACE_MS);
  process.once("exit", () => {
    for (const child of children) signalChild(child, "SIGKILL");
  });
  try {
    const dispatcher = spawnChild({
      name: "dispatcher",
      bin: "run-dispatcher",
      args: ["-c", configs.dispatcher, ...common, "--log-level", "info"],
      logPath: join(options.runDir, "dispatcher.log"),
    });
    children.push(dispatcher);
    const started = await Promise.race([
      dispatcher.waitForLog(isStarted, DISPATCHER_START_MS),
      dispatcher.exited.then((code) =>
        Promise.reject(new Error(`dispatcher exited with code ${code}; see ${options.runDir}/dispatcher.log`)),
      ),
    ]);
    const address = `127.0.0.1:${String(started["port"])}`;
    options.say(`dispatcher on ${address}; logs and configs in ${options.runDir}`);
    let registeredCount = 0;
    const allRegistered = new Promise<void>((resolve) => {
      const watch = (): void => {
        void dispatcher
          .waitForLog((line) => line.msg === "calculator registered", REGISTER_WAIT_MS)
          .then(() => {
            registeredCount += 1;
            if (registeredCount >= options.calculatorCount) resolve();
            else watch();
          }, resolve);
      };
      watch();
    });
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
    await allRegistered;
    options.say(
      `${registeredCount}/${options.calculatorCount} calculators registered; starting the client (Ctrl-C stops it early)`,
    );
    writeFileSync(
      join(options.runDir, "pids.json"),
      `${JSON.stringify(children.map((c) => ({ name: c.name, pid: c.pid })))}\n`,
    );
    const client = startClient(options, configs.client, address, common);
    children.push(client);
    writeFileSync(
      join(options.runDir, "pids.json"),
      `${JSON.stringify(children.map((c) => ({ name: c.name, pid: c.pid })))}\n`,
    );
    const onInterrupt = (): void => signalChild(client, "SIGINT");
    process.on("SIGINT", onInterrupt);
    process.on("SIGTERM", onInterrupt);
    const code = await client.exited;
    process.off("SIGINT", onInterrupt);
    process.off("SIGTERM", onInterrupt);
    return code;
  } finally {
    await stopAll();
    options.say(`stopped ${children.length} processes; statistics in ${join(options.runDir, "stats.json")}`);
  }
}

function startClient(options: LocalClusterOptions, config: string, address: string, common: readonly string[]): Child {
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
