/**
 * Shared plain values for the dispatcher core tests: endpoints, task ids, packet builders and a
 * small harness that heartbeats calculators with increasing seq. The default config keeps the
 * timers that a test is not about (assign resends, probes, delayed receipts) far in the future, so
 * every test can assert the exact, complete output list; the tests about those timers override them.
 */
import { DispatcherCore } from "../../../src/dispatcher/core.js";
import type { DispatcherCoreConfig, DispatcherOutput } from "../../../src/dispatcher/types.js";
import type { Packet } from "../../../src/protocol/packet.js";
import type { CalcHeartbeat, TaskAssign, TaskDone, TaskId, TaskSubmit } from "../../../src/protocol/packets.js";
import { simDispatcherConfig } from "../../../src/sim/sim-configs.js";
import type { Endpoint } from "../../../src/transport/transport.js";

export const DISPATCHER_ID = "disp-1";
export const CLIENT: Endpoint = { host: "10.0.0.100", port: 4000 };
/** The same client after a NAT rebinding (a new source address). */
export const CLIENT_MOVED: Endpoint = { host: "10.0.0.101", port: 4001 };
export const CALC: Record<"a" | "b" | "c", Endpoint> = {
  a: { host: "10.0.0.1", port: 7001 },
  b: { host: "10.0.0.2", port: 7002 },
  c: { host: "10.0.0.3", port: 7003 },
};
export type CalcName = keyof typeof CALC;

/** A valid, readable task id: task(7) = 00000000-0000-4000-8000-000000000007. */
export function task(n: number): TaskId {
  return `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
}

/** A well-formed digest that differs per task and per calculator, so a test sees whose result won. */
export function digest(n: number, who: string): string {
  return `${who.charCodeAt(who.length - 1).toString(16)}${String(n).padStart(4, "0")}`.padEnd(64, "0");
}

/** Dispatcher config for these tests: sim values, quiet timers, a distinctive nodeId. */
export function testConfig(overrides: Partial<DispatcherCoreConfig> = {}): DispatcherCoreConfig {
  return simDispatcherConfig({
    nodeId: DISPATCHER_ID,
    heartbeatTimeoutMs: 400,
    evictAfterMs: 4_000,
    taskTimeoutMs: 1_500,
    queueTimeoutMs: 60_000,
    ackDelayMs: 100_000,
    assignRetryMs: [100_000],
    probeIntervalMs: 100_000,
    ...overrides,
  });
}

export function submit(n: number, overrides: Partial<TaskSubmit> = {}): TaskSubmit {
  return { v: 1, type: "task.submit", from: "client-1", taskId: task(n), input: `in-${n}`, rounds: 3, ...overrides };
}

export function assignPacket(n: number, attempt: number): TaskAssign {
  return {
    v: 1,
    type: "task.assign",
    from: DISPATCHER_ID,
    taskId: task(n),
    attempt,
    input: `in-${n}`,
    rounds: 3,
    toBoot: 1,
  };
}

/** The send output of an assign of task n to calculator `name`. */
export function assignTo(name: CalcName, n: number, attempt: number): DispatcherOutput {
  return { kind: "send", to: CALC[name], packet: assignPacket(n, attempt) };
}

export function done(name: CalcName, n: number, attempt: number): TaskDone {
  return { v: 1, type: "task.done", from: `calc-${name}`, taskId: task(n), attempt, result: digest(n, name) };
}

export function resultTo(to: Endpoint, n: number, name: CalcName, attempts: number): DispatcherOutput {
  return {
    kind: "send",
    to,
    packet: { v: 1, type: "task.result", from: DISPATCHER_ID, taskId: task(n), result: digest(n, name), attempts },
  };
}

export function failedTo(to: Endpoint, n: number, reason: "timeout" | "deadline" | "overloaded"): DispatcherOutput {
  return { kind: "send", to, packet: { v: 1, type: "task.failed", from: DISPATCHER_ID, taskId: task(n), reason } };
}

/**
 * The outputs that cancel task n's live copy on calculator `name` (after a final answer), for the
 * copies up to `attempt` (the task's copy counter when it ended).
 */
export function cancelOf(name: CalcName, n: number, attempt: number): DispatcherOutput[] {
  return [
    { kind: "copy_cancelled", taskId: task(n), calculatorId: `calc-${name}` },
    {
      kind: "send",
      to: CALC[name],
      packet: { v: 1, type: "task.cancel", from: DISPATCHER_ID, taskId: task(n), attempt },
    },
  ];
}

export function receiptTo(to: Endpoint, n: number, state: "queued" | "running"): DispatcherOutput {
  return { kind: "send", to, packet: { v: 1, type: "task.ack", from: DISPATCHER_ID, taskId: task(n), state } };
}

export function calcAck(name: CalcName, n: number, state: "running" | "busy"): Packet {
  return { v: 1, type: "task.ack", from: `calc-${name}`, taskId: task(n), state };
}

export function heartbeatPacket(
  name: CalcName,
  seq: number,
  options: { boot?: number; capacity?: number; running?: number } = {},
): CalcHeartbeat {
  return {
    v: 1,
    type: "calc.heartbeat",
    from: `calc-${name}`,
    boot: options.boot ?? 1,
    seq,
    capacity: options.capacity ?? 1,
    running: options.running ?? 0,
  };
}

/**
 * Outputs that only report what happened to copies and votes (for metrics). The k = 1 tests here assert
 * the complete list of everything else; test/unit/dispatcher/replication*.test.ts assert these.
 */
const COPY_EVENTS: ReadonlySet<DispatcherOutput["kind"]> = new Set(["copy_started", "vote_recorded"]);

/** A DispatcherCore whose outputs leave out COPY_EVENTS. */
class PlainCore extends DispatcherCore {
  override onPacket(...args: Parameters<DispatcherCore["onPacket"]>): DispatcherOutput[] {
    return super.onPacket(...args).filter((output) => !COPY_EVENTS.has(output.kind));
  }

  override onTick(nowMs: number): DispatcherOutput[] {
    return super.onTick(nowMs).filter((output) => !COPY_EVENTS.has(output.kind));
  }
}

/** A core plus calculators that remember their boot, seq and capacity between heartbeats. */
export class Harness {
  readonly core: DispatcherCore;
  readonly #calcs = new Map<CalcName, { boot: number; seq: number; capacity: number }>();

  constructor(overrides: Partial<DispatcherCoreConfig> = {}) {
    this.core = new PlainCore(testConfig(overrides));
  }

  /** The next heartbeat of `name` (seq + 1); `boot` or `capacity` change it from now on. */
  beat(
    nowMs: number,
    name: CalcName,
    options: { boot?: number; capacity?: number; running?: number } = {},
  ): DispatcherOutput[] {
    const previous = this.#calcs.get(name) ?? { boot: 1, seq: 0, capacity: 1 };
    const isNewBoot = options.boot !== undefined && options.boot !== previous.boot;
    const state = {
      boot: options.boot ?? previous.boot,
      seq: isNewBoot ? 1 : previous.seq + 1,
      capacity: options.capacity ?? previous.capacity,
    };
    this.#calcs.set(name, state);
    return this.core.onPacket(
      nowMs,
      CALC[name],
      heartbeatPacket(name, state.seq, { ...state, running: options.running ?? 0 }),
    );
  }

  submit(nowMs: number, n: number, from: Endpoint = CLIENT, overrides: Partial<TaskSubmit> = {}): DispatcherOutput[] {
    return this.core.onPacket(nowMs, from, submit(n, overrides));
  }

  done(nowMs: number, name: CalcName, n: number, attempt: number): DispatcherOutput[] {
    return this.core.onPacket(nowMs, CALC[name], done(name, n, attempt));
  }

  ack(nowMs: number, name: CalcName, n: number, state: "running" | "busy"): DispatcherOutput[] {
    return this.core.onPacket(nowMs, CALC[name], calcAck(name, n, state));
  }

  /** Ticks at every ms in [fromMs, toMs] and returns each output with the time it appeared. */
  tickEachMs(fromMs: number, toMs: number): { atMs: number; output: DispatcherOutput }[] {
    const timeline: { atMs: number; output: DispatcherOutput }[] = [];
    for (let nowMs = fromMs; nowMs <= toMs; nowMs += 1) {
      for (const output of this.core.onTick(nowMs)) timeline.push({ atMs: nowMs, output });
    }
    return timeline;
  }
}
