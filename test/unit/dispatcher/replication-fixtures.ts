/**
 * A harness for the replication tests: a DispatcherCore with k copies per task and up to six
 * calculators (calc-a .. calc-f), whose outputs are kept whole (copy and vote events included), plus
 * helpers that pick out what a test asserts: assigns, cancels, final answers, copy kinds.
 */
import { DispatcherCore } from "../../../src/dispatcher/core.js";
import type { DispatcherCoreConfig, DispatcherOutput } from "../../../src/dispatcher/types.js";
import type { Packet } from "../../../src/protocol/packet.js";
import type { TaskId } from "../../../src/protocol/packets.js";
import type { Endpoint } from "../../../src/transport/transport.js";
import { CLIENT, submit, task, testConfig } from "./fixtures.js";

export const NAMES = ["a", "b", "c", "d", "e", "f"] as const;
export type Name = (typeof NAMES)[number];

export function endpointOf(name: Name): Endpoint {
  return { host: `10.0.1.${NAMES.indexOf(name) + 1}`, port: 7100 + NAMES.indexOf(name) };
}

/** A digest: `good` is the right one for task n, anything else a wrong one. */
export function result(n: number, variant = "good"): string {
  const hex = [...variant].map((ch) => ch.charCodeAt(0).toString(16)).join("");
  return `${String(n).padStart(4, "0")}${hex}`.padEnd(64, "0").slice(0, 64);
}

/** The core under test and its calculators' heartbeat counters. */
export class RepHarness {
  readonly core: DispatcherCore;
  readonly #seq = new Map<Name, number>();

  constructor(overrides: Partial<DispatcherCoreConfig> = {}) {
    this.core = new DispatcherCore(testConfig({ heartbeatTimeoutMs: 10_000, evictAfterMs: 20_000, ...overrides }));
  }

  beat(nowMs: number, name: Name, capacity = 1, running = 0): DispatcherOutput[] {
    const seq = (this.#seq.get(name) ?? 0) + 1;
    this.#seq.set(name, seq);
    return this.core.onPacket(nowMs, endpointOf(name), {
      v: 1,
      type: "calc.heartbeat",
      from: `calc-${name}`,
      boot: 1,
      seq,
      capacity,
      running,
    });
  }

  submit(nowMs: number, n: number, from: Endpoint = CLIENT): DispatcherOutput[] {
    return this.core.onPacket(nowMs, from, submit(n));
  }

  done(nowMs: number, name: Name, n: number, variant = "good", attempt = 1): DispatcherOutput[] {
    return this.core.onPacket(nowMs, endpointOf(name), {
      v: 1,
      type: "task.done",
      from: `calc-${name}`,
      taskId: task(n),
      attempt,
      result: result(n, variant),
    });
  }

  cancel(nowMs: number, n: number, from: Endpoint = CLIENT): DispatcherOutput[] {
    return this.core.onPacket(nowMs, from, { v: 1, type: "task.cancel", from: "client-1", taskId: task(n) });
  }

  calcAck(nowMs: number, name: Name, n: number, state: "running" | "busy" | "cancelled"): DispatcherOutput[] {
    return this.core.onPacket(nowMs, endpointOf(name), {
      v: 1,
      type: "task.ack",
      from: `calc-${name}`,
      taskId: task(n),
      state,
    });
  }
}

/** The name of the calculator at `endpoint`. */
export function nameAt(endpoint: Endpoint): Name {
  const name = NAMES.find((candidate) => endpointOf(candidate).port === endpoint.port);
  if (name === undefined) throw new Error(`no calculator at ${endpoint.port}`);
  return name;
}

function sendsOf(outputs: DispatcherOutput[], type: Packet["type"]): { to: Endpoint; packet: Packet }[] {
  return outputs.flatMap((output) => (output.kind === "send" && output.packet.type === type ? [output] : []));
}

/** Calculators that got an assign in `outputs`, in order. */
export function assignedTo(outputs: DispatcherOutput[]): Name[] {
  return sendsOf(outputs, "task.assign").map((send) => nameAt(send.to));
}

/** Calculators that got a cancel in `outputs`, in order. */
export function cancelledAt(outputs: DispatcherOutput[]): Name[] {
  return sendsOf(outputs, "task.cancel").map((send) => nameAt(send.to));
}

/** Copy kinds started in `outputs`, in order. */
export function copyKinds(outputs: DispatcherOutput[]): string[] {
  return outputs.flatMap((output) => (output.kind === "copy_started" ? [output.copyKind] : []));
}

/** The final answers (task.result / task.failed) sent in `outputs`. */
export function finals(outputs: DispatcherOutput[]): Packet[] {
  return [...sendsOf(outputs, "task.result"), ...sendsOf(outputs, "task.failed")].map((send) => send.packet);
}

/** Drop reasons in `outputs`. */
export function drops(outputs: DispatcherOutput[]): string[] {
  return outputs.flatMap((output) => (output.kind === "packet_dropped" ? [output.reason] : []));
}

export function failed(n: number, reason: string): Packet {
  return { v: 1, type: "task.failed", from: "disp-1", taskId: task(n) as TaskId, reason };
}
