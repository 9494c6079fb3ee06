/**
 * The raw anchor of `npm run bench`: the fastest honest way to do the cluster's hops with Node and
 * JSON over UDP, and nothing else. One script, three roles, each its own process:
 *
 * - `relay`: receives `{type:"task",id,input,rounds}` from a load generator, forwards it round-robin
 *   to a worker and forwards the worker's `{type:"done",id,result}` back to the task's sender.
 * - `worker`: registers with the relay, computes the SHA-256 chain (the same function a calculator
 *   runs) and answers.
 * - `load`: a closed loop keeping `window` tasks outstanding, refilling at once on each answer.
 *
 * No validation, no retransmission, no heartbeats, no caches, no logs per packet: every cost the
 * cluster adds on top of this is overhead that the benchmark reports as a ratio. The relay keeps one
 * map entry per task in flight so that answers find their sender (the minimum a relay needs).
 * Usage: `node anchor.js relay | worker RELAY_PORT | load RELAY_PORT WINDOW DURATION_S [WARMUP_S]`
 * (tasks sent in the first WARMUP_S seconds are left out of latency, as `run-client --warmup-s` does).
 */
import { randomUUID } from "node:crypto";

import { sha256Steps } from "../calculator/evaluate.js";
import { LatencyRecorder } from "../metrics/latency.js";
import type { Endpoint } from "../transport/transport.js";
import { openUdpTransport, type UdpTransport } from "../transport/udp-transport.js";

const HOST = "127.0.0.1";
/** A task unanswered this long is counted lost and its window slot refilled (ms). */
const LOST_AFTER_MS = 1_000;
/** Characters of each random input; the cluster client's default inputChars. */
const INPUT_CHARS = 16;
const INPUT_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What the `load` role prints on stdout when it ends (the fields of SPEC section 4 it can know). */
export interface AnchorStats {
  readonly sent: number;
  readonly received: number;
  readonly lost: number;
  readonly durationS: number;
  readonly latencyMs: ReturnType<LatencyRecorder["summaryMs"]>;
  /** CPU time of the load process itself (user + system), in ms. */
  readonly cpuMs: number;
}

type Message = { type: string; id: string; input: string; rounds: number; result: string };

function send(transport: UdpTransport, to: Endpoint, message: object): void {
  transport.send(to, encoder.encode(JSON.stringify(message)));
}

/** Exits cleanly on SIGTERM (so `node --cpu-prof` can write its profile). */
function exitOnSigterm(transport: UdpTransport): void {
  process.once("SIGTERM", () => {
    transport.close().then(() => process.exit(0));
  });
}

function log(message: object): void {
  process.stderr.write(`${JSON.stringify(message)}\n`);
}

async function runRelay(): Promise<void> {
  const transport = await openUdpTransport({ host: HOST, port: 0 });
  exitOnSigterm(transport);
  /** BOUNDED: one entry per worker; the benchmark starts four. */
  const workers: Endpoint[] = [];
  /** UNBOUNDED: one entry per task in flight; the load generator caps that at its window. */
  const senders = new Map<string, Endpoint>();
  let next = 0;
  transport.onReceive(({ from, bytes }) => {
    const message = JSON.parse(decoder.decode(bytes)) as Message;
    if (message.type === "task") {
      const worker = workers[next];
      next = (next + 1) % workers.length;
      if (worker === undefined) return;
      senders.set(message.id, from);
      send(transport, worker, { type: "task", id: message.id, input: message.input, rounds: message.rounds });
    } else if (message.type === "done") {
      const sender = senders.get(message.id);
      if (sender === undefined) return;
      senders.delete(message.id);
      send(transport, sender, { type: "result", id: message.id, result: message.result });
    } else if (message.type === "hello") {
      workers.push(from);
      send(transport, from, { type: "welcome" });
    }
  });
  log({ msg: "relay started", port: transport.local.port });
}

async function runWorker(relay: Endpoint): Promise<void> {
  const transport = await openUdpTransport({ host: HOST, port: 0 });
  exitOnSigterm(transport);
  transport.onReceive(({ bytes }) => {
    const message = JSON.parse(decoder.decode(bytes)) as Message;
    if (message.type === "welcome") {
      log({ msg: "worker registered", port: transport.local.port });
      return;
    }
    const result = sha256Steps(message.input, message.rounds);
    send(transport, relay, { type: "done", id: message.id, result });
  });
  send(transport, relay, { type: "hello" });
}

function randomInput(): string {
  let input = "";
  for (let i = 0; i < INPUT_CHARS; i += 1) input += INPUT_ALPHABET[Math.floor(Math.random() * INPUT_ALPHABET.length)];
  return input;
}

async function runLoad(relay: Endpoint, window: number, durationS: number, warmupS: number): Promise<void> {
  const transport = await openUdpTransport({ host: HOST, port: 0 });
  const latency = new LatencyRecorder();
  /** BOUNDED: `window` entries, the closed loop never has more outstanding. */
  const outstanding = new Map<string, number>();
  let sent = 0;
  let received = 0;
  let lost = 0;
  let isSending = true;
  const startedMs = performance.now();
  /** Tasks sent before this are left out of latency, as run-client --warmup-s does. */
  const latencyFromMs = startedMs + warmupS * 1_000;
  const cpuStart = process.cpuUsage();
  const sendOne = (): void => {
    const id = randomUUID();
    outstanding.set(id, performance.now());
    sent += 1;
    send(transport, relay, { type: "task", id, input: randomInput(), rounds: 1 });
  };
  const finish = (): void => {
    clearInterval(sweeper);
    const cpu = process.cpuUsage(cpuStart);
    const stats: AnchorStats = {
      sent,
      received,
      lost,
      durationS: Math.round(performance.now() - startedMs) / 1_000,
      latencyMs: latency.summaryMs(),
      cpuMs: Math.round((cpu.user + cpu.system) / 1_000),
    };
    process.stdout.write(`${JSON.stringify(stats)}\n`);
    transport.close().then(() => process.exit(0));
  };
  transport.onReceive(({ bytes }) => {
    const message = JSON.parse(decoder.decode(bytes)) as Message;
    const sentMs = outstanding.get(message.id);
    if (sentMs === undefined) return;
    outstanding.delete(message.id);
    if (sentMs >= latencyFromMs) latency.recordMs(performance.now() - sentMs);
    received += 1;
    if (isSending) sendOne();
    else if (outstanding.size === 0) finish();
  });
  const sweeper = setInterval(() => {
    const nowMs = performance.now();
    for (const [id, sentMs] of outstanding) {
      if (nowMs - sentMs < LOST_AFTER_MS) continue;
      outstanding.delete(id);
      lost += 1;
      if (isSending) sendOne();
    }
    if (!isSending && outstanding.size === 0) finish();
  }, 100);
  setTimeout(() => {
    isSending = false;
  }, durationS * 1_000);
  for (let i = 0; i < window; i += 1) sendOne();
}

function relayEndpoint(port: string | undefined): Endpoint {
  const parsed = Number(port);
  if (!Number.isInteger(parsed) || parsed <= 0 || parsed > 65_535) throw new Error(`bad relay port "${port}"`);
  return { host: HOST, port: parsed };
}

/** Entry point: `node dist/src/bench/anchor.js <role> ...` (started by the benchmark, not by hand). */
export async function main(argv: readonly string[]): Promise<void> {
  const [role, port, window, durationS, warmupS] = argv;
  if (role === "relay") return runRelay();
  if (role === "worker") return runWorker(relayEndpoint(port));
  if (role === "load") return runLoad(relayEndpoint(port), Number(window), Number(durationS), Number(warmupS ?? 0));
  throw new Error(`unknown anchor role "${role}"`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`anchor: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
