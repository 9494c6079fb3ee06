/**
 * Goal: whatever calculators and clients send, in whatever order, a replicated dispatcher core never
 * throws (remote input never trips an assertion), ends each task at most once, never makes a wrong
 * result final while fewer than q calculators are corrupt (each wrong in its own way), never has more
 * live copies on a calculator than its capacity, and never starts more than maxCopies copies of a task.
 * Method: fast-check generates sequences of submits, results (right, wrong, repeated, from calculators
 * never given the task), receipts (running, busy, cancelled), cancels, heartbeats (some restarts) and
 * ticks for a core with k = 3, q = 2 and five calculators of which one is corrupt.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";

import type { DispatcherOutput } from "../../../src/dispatcher/types.js";
import { task } from "./fixtures.js";
import { endpointOf, NAMES, type Name, RepHarness, result } from "./replication-fixtures.js";

const CORRUPT: Name = "e";
const TASKS = 3;

const event = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant("submit" as const), n: fc.integer({ min: 1, max: TASKS }) }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant("done" as const),
      n: fc.integer({ min: 1, max: TASKS }),
      name: fc.constantFrom(...NAMES.slice(0, 5)),
    }),
    weight: 6,
  },
  fc.record({
    kind: fc.constant("ack" as const),
    n: fc.integer({ min: 1, max: TASKS }),
    name: fc.constantFrom(...NAMES.slice(0, 5)),
    state: fc.constantFrom("running" as const, "busy" as const, "cancelled" as const),
  }),
  fc.record({ kind: fc.constant("cancel" as const), n: fc.integer({ min: 1, max: TASKS }) }),
  fc.record({
    kind: fc.constant("beat" as const),
    name: fc.constantFrom(...NAMES.slice(0, 5)),
    restart: fc.boolean(),
  }),
  {
    arbitrary: fc.record({ kind: fc.constant("tick" as const), advanceMs: fc.integer({ min: 1, max: 900 }) }),
    weight: 2,
  },
);

describe("replicated core under arbitrary input", () => {
  it("never throws, ends each task once, never accepts a wrong result, respects capacity and maxCopies", () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 120 }), (events) => {
        const h = new RepHarness({
          replication: { factor: 3, quorum: 2, maxCopies: 5, adaptive: true, trustRunMin: 2 },
          hedging: { enabled: true, quantile: 0.5, minDelayMs: 5, budget: 0.5 },
          heartbeatTimeoutMs: 1_000,
          evictAfterMs: 3_000,
          taskTimeoutMs: 700,
          assignRetryMs: [100],
        });
        const boots = new Map<Name, number>();
        const ended = new Map<string, number>();
        const started = new Map<string, number>();
        let nowMs = 0;
        const check = (outputs: DispatcherOutput[]): void => {
          for (const output of outputs) {
            if (output.kind === "task_completed" || output.kind === "task_failed") {
              ended.set(output.taskId, (ended.get(output.taskId) ?? 0) + 1);
            }
            if (output.kind === "copy_started") started.set(output.taskId, (started.get(output.taskId) ?? 0) + 1);
            if (output.kind === "send" && output.packet.type === "task.result") {
              const n = Number(output.packet.taskId.slice(-12));
              expect(output.packet.result).toBe(result(n));
            }
          }
        };
        for (const name of NAMES.slice(0, 5)) check(h.beat(0, name, 2));
        for (const e of events) {
          switch (e.kind) {
            case "submit":
              check(h.submit(nowMs, e.n));
              break;
            case "done":
              check(h.done(nowMs, e.name, e.n, e.name === CORRUPT ? "bad" : "good"));
              break;
            case "ack":
              check(h.calcAck(nowMs, e.name, e.n, e.state));
              break;
            case "cancel":
              check(h.cancel(nowMs, e.n));
              break;
            case "beat": {
              const boot = (boots.get(e.name) ?? 1) + (e.restart ? 1 : 0);
              boots.set(e.name, boot);
              check(
                h.core.onPacket(nowMs, endpointOf(e.name), {
                  v: 1,
                  type: "calc.heartbeat",
                  from: `calc-${e.name}`,
                  boot,
                  seq: nowMs + 1,
                  capacity: 2,
                  running: 0,
                }),
              );
              break;
            }
            case "tick":
              nowMs += e.advanceMs;
              check(h.core.onTick(nowMs));
              break;
          }
          for (const name of NAMES.slice(0, 5)) {
            const calculator = h.core.registry.get(`calc-${name}`);
            if (calculator !== undefined) expect(calculator.assigned.size).toBeLessThanOrEqual(calculator.capacity);
          }
        }
        for (const count of ended.values()) expect(count).toBe(1);
        for (const count of started.values()) expect(count).toBeLessThanOrEqual(5); // maxCopies, hedges included
        expect(task(1)).toBeDefined();
      }),
      { numRuns: 150 },
    );
  }, 10_000); // CPU-bound (150 runs of up to 120 events): more than the 2 s default on a loaded machine
});
