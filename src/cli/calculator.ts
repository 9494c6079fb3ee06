/**
 * `run-calculator -s FILE`: validates the settings (flags override file, file overrides defaults),
 * binds its UDP socket, heartbeats to the dispatcher and runs tasks until SIGINT/SIGTERM.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { hostname } from "node:os";
import { dirname, isAbsolute, join } from "node:path";

import { Command } from "commander";

import { startCalculator } from "../calculator/daemon.js";
import type { CalculatorCoreConfig } from "../calculator/types.js";
import { ConfigError, loadConfigFile, parseConfig, parseHostPort } from "../config/load.js";
import { CalculatorFileConfig } from "../config/schema.js";
import type { OverlayAgentConfig } from "../overlay/agent-config.js";
import { loadTopologyFile } from "../overlay/files.js";
import { CAPACITY_MAX } from "../protocol/limits.js";
import { systemClock } from "../runtime/clock.js";
import { watchPeer } from "../shell/peer-watch.js";
import { flushAfterIo } from "../shell/send-batcher.js";
import { type Endpoint, sameEndpoint } from "../transport/transport.js";
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

interface CalculatorFlags extends CommonFlags {
  settings?: string;
  id?: string;
  listen?: string;
  dispatcher?: string;
  capacity?: string;
  computeMs?: string;
  failureProbability?: string;
  corruptionProbability?: string;
  keyFile?: string;
}

/** A default identity that is stable for the life of the process and valid on the wire. */
export function defaultCalculatorId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9._:-]/g, "-")
      .slice(0, 40) || "host";
  return `calc-${host}-${process.pid}`;
}

function resolveConfig(flags: CalculatorFlags): CalculatorFileConfig {
  const file = loadConfigFile(CalculatorFileConfig, flags.settings);
  const merged = {
    ...file,
    ...(flags.keyFile === undefined ? {} : { auth: { keyFile: flags.keyFile } }),
    ...(flags.id === undefined ? {} : { id: flags.id }),
    ...(flags.listen === undefined ? {} : { listen: parseHostPort(flags.listen, "--listen") }),
    ...(flags.dispatcher === undefined ? {} : { dispatcher: parseHostPort(flags.dispatcher, "--dispatcher") }),
    ...(flags.capacity === undefined ? {} : { capacity: parseNumberFlag(flags.capacity, "--capacity", 1, 1_024) }),
    ...(flags.computeMs === undefined ? {} : { computeMs: parseRangeFlag(flags.computeMs, "--compute-ms") }),
    ...(flags.failureProbability === undefined
      ? {}
      : {
          failure: {
            ...file.failure,
            probability: parseNumberFlag(flags.failureProbability, "--failure-probability", 0, 1, false),
          },
        }),
    ...(flags.corruptionProbability === undefined
      ? {}
      : {
          corruption: {
            probability: parseNumberFlag(flags.corruptionProbability, "--corruption-probability", 0, 1, false),
          },
        }),
  };
  return parseConfig(CalculatorFileConfig, merged, flags.settings ?? "the command line");
}

/**
 * The overlay node settings of a calculator with an `overlay` section: its topology (a path relative
 * to the settings file), its node (the calculator id), and an address for every other node.
 */
export function overlayAgentConfig(
  file: CalculatorFileConfig,
  settingsPath: string | undefined,
  nodeId: string | undefined,
  bootMs: number,
): OverlayAgentConfig | undefined {
  const overlay = file.overlay;
  if (overlay === undefined) return undefined;
  const source = settingsPath ?? "the command line";
  if (nodeId === undefined) {
    throw new ConfigError(
      `Invalid configuration in ${source}: key "overlay" needs key "id" (or --id) naming this calculator's node in the topology.`,
    );
  }
  const topologyPath =
    isAbsolute(overlay.topology) || settingsPath === undefined
      ? overlay.topology
      : join(dirname(settingsPath), overlay.topology);
  const topology = loadTopologyFile(topologyPath);
  if (topology.indexOf(nodeId) === undefined) {
    throw new ConfigError(
      `Invalid configuration in ${source}: id "${nodeId}" is not a node of the topology ${topologyPath}.`,
    );
  }
  const peers = new Map<string, Endpoint>();
  for (const [id, address] of Object.entries(overlay.peers))
    peers.set(id, parseHostPort(address, `overlay.peers.${id}`));
  const unknown = [...peers.keys()].filter((id) => topology.indexOf(id) === undefined);
  if (unknown.length > 0) {
    throw new ConfigError(
      `Invalid configuration in ${source}: key "overlay.peers" names ${unknown.join(", ")}, not in the topology ${topologyPath}.`,
    );
  }
  const slots = topology.slots[topology.mustIndexOf(nodeId)] as number;
  if (slots + overlay.queueMax > CAPACITY_MAX) {
    throw new ConfigError(
      `Invalid configuration in ${source}: node ${nodeId} has ${slots} slots and key "overlay.queueMax" is ${overlay.queueMax}; together they must not exceed ${CAPACITY_MAX} (a calculator announces both as its capacity).`,
    );
  }
  const missing = topology.ids.filter((id) => id !== nodeId && !peers.has(id));
  if (missing.length > 0) {
    throw new ConfigError(
      `Invalid configuration in ${source}: key "overlay.peers" has no address for node${missing.length > 1 ? "s" : ""} ${missing.join(", ")}.`,
    );
  }
  return {
    nodeId,
    topology,
    peers,
    rebalanceIntervalMs: overlay.rebalanceIntervalMs,
    waveTimeoutMs: overlay.waveTimeoutMs,
    childSilenceMs: overlay.childSilenceMs,
    bootMs,
  };
}

/**
 * Resolves peer host names to addresses once at start: an overlay node checks that each packet
 * comes from its sender's address, and datagrams carry IP addresses, not names.
 */
export async function resolvePeers(peers: ReadonlyMap<string, Endpoint>): Promise<Map<string, Endpoint>> {
  const resolved = new Map<string, Endpoint>();
  for (const [id, endpoint] of peers) {
    if (isIP(endpoint.host) !== 0) {
      resolved.set(id, endpoint);
      continue;
    }
    try {
      const { address } = await lookup(endpoint.host, { family: 4 });
      resolved.set(id, { host: address, port: endpoint.port });
    } catch (error) {
      throw new ConfigError(
        `Cannot resolve overlay peer ${id} at ${endpoint.host}: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`,
        { cause: error },
      );
    }
  }
  return resolved;
}

/** Turns the validated settings into core settings (an overlay node runs its topology slots). */
export function calculatorCoreConfig(
  file: CalculatorFileConfig,
  nodeId: string,
  boot: number,
  overlay?: OverlayAgentConfig,
): CalculatorCoreConfig {
  const nodeIndex = overlay?.topology.indexOf(nodeId);
  const slots = nodeIndex === undefined ? undefined : overlay?.topology.slots[nodeIndex];
  return {
    nodeId,
    boot,
    dispatcher: file.dispatcher,
    capacity: slots ?? file.capacity,
    queueMax: file.overlay?.queueMax ?? 0,
    overlayRole: overlay === undefined ? undefined : nodeIndex === overlay.topology.root ? "root" : "node",
    overlayParents:
      overlay === undefined || nodeIndex === undefined
        ? undefined
        : (overlay.topology.parents[nodeIndex] ?? []).map((parent) => overlay.topology.ids[parent] as string),
    computeMs: file.computeMs,
    heartbeatIntervalMs: file.heartbeatIntervalMs,
    failure: file.failure,
    corruption: file.corruption,
    resultsCacheMax: file.resultsCacheMax,
    resultsCacheTtlMs: file.resultsCacheTtlMs,
    ackDelayMs: file.ackDelayMs,
  };
}

/** Resolves `auto`: loopback when the dispatcher is on this machine's loopback, else every address. */
export function listenHost(host: string, dispatcherHost: string): string {
  if (host !== "auto") return host;
  // An IPv6 dispatcher needs an IPv6 socket: an IPv4 one never reaches [::1]:P.
  if (dispatcherHost.includes(":")) return dispatcherHost === "::1" ? "::1" : "::";
  const isLoopback = /^127\./.test(dispatcherHost) || dispatcherHost === "::1" || dispatcherHost === "localhost";
  return isLoopback ? "127.0.0.1" : "0.0.0.0";
}

/** How often the calculator logs its counters at info while it runs (ms). */
const COUNTERS_LOG_MS = 10_000;

/** Entry point of bin/run-calculator. */
export async function main(argv: readonly string[]): Promise<void> {
  await runMain(async () => {
    const program = withCommonOptions(new Command("run-calculator"))
      .description("Run one calculator: registers with the dispatcher by heartbeats and executes tasks.")
      .option("-s, --settings <file>", "calculator settings file (JSON, see docs/CONFIG.md)")
      .option("--id <name>", "stable calculator id (default calc-<host>-<pid>)")
      .option("--listen <host:port>", "UDP address to listen on (overrides listen)")
      .option("--dispatcher <host:port>", "dispatcher address (overrides dispatcher)")
      .option("--capacity <n>", "tasks run in parallel")
      .option("--compute-ms <min,max>", "emulated computation time range")
      .option("--failure-probability <p>", "chance of an emulated outage at each failure check")
      .option("--corruption-probability <p>", "chance of returning a wrong result")
      .option("--key-file <file>", "authenticate every datagram with this key file (auth.keyFile, docs/SECURITY.md)");
    program.parse([...argv], { from: "user" });
    const flags = program.opts<CalculatorFlags>();
    const config = resolveConfig(flags);
    const bootMs = Date.now();
    const configured = overlayAgentConfig(config, flags.settings, config.id, bootMs);
    const overlay =
      configured === undefined ? undefined : { ...configured, peers: await resolvePeers(configured.peers) };
    const nodeId = config.id ?? defaultCalculatorId();
    const log = loggerFor("calculator", nodeId, flags);
    // SPEC section 3: a calculator takes packets only from its dispatcher (and overlay peers from peers).
    const edge = await openEdge({
      host: listenHost(config.listen.host, config.dispatcher.host),
      port: config.listen.port,
      what: "calculator",
      keyFile: config.auth.keyFile,
      acceptFrom: [config.dispatcher, ...(overlay?.peers.values() ?? [])],
      log,
    });
    // SPEC 8: a dispatcher that does not answer is named at warn; overlay peers are not the dispatcher.
    const overlayPeers = [...(overlay?.peers.values() ?? [])];
    let isInOutage = (): boolean => false;
    const { transport } = watchPeer({
      transport: edge,
      peer: config.dispatcher,
      peerName: "dispatcher",
      nodeId,
      isPeer: (from) => !overlayPeers.some((peer) => sameEndpoint(peer, from)),
      log,
      nowMs: () => systemClock.nowMs(),
      isPaused: () => isInOutage(),
    });
    const calculator = startCalculator({
      config: calculatorCoreConfig(config, nodeId, bootMs, overlay),
      ...(overlay === undefined ? {} : { overlay }),
      tickMs: config.tickMs,
      transport,
      clock: systemClock,
      scheduleFlush: flushAfterIo,
      rng: osSeededRng(),
      log,
    });
    isInOutage = () => calculator.core.isInOutage;
    log.info(
      {
        id: nodeId,
        host: transport.local.host,
        port: transport.local.port,
        dispatcher: config.dispatcher,
        capacity: calculator.core.slots,
      },
      "calculator started",
    );
    // Counters while running (not only in the final line), at info every COUNTERS_LOG_MS.
    const countersTimer = setInterval(() => {
      log.info({ counters: calculator.counters.toJSON(), completed: calculator.core.completedCount }, "counters");
    }, COUNTERS_LOG_MS);
    countersTimer.unref();
    onShutdownSignal(async (signal) => {
      log.info({ signal }, "stopping");
      clearInterval(countersTimer);
      await calculator.stop();
      process.exit(0);
    });
  });
}
