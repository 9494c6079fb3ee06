/**
 * Goal: DeadlineTicker ticks a core at the deadlines it announces (not at a fixed rate), moves its
 * timer earlier when a packet brings a deadline forward, never ticks closer than tickSpacingMs, keeps
 * a safety tick, stays quiet for a paused host, and leaves no timer behind after stop().
 * Method: a stub core whose nextDeadlineMs the test sets, hosted by a real CoreHost on a stub transport,
 * driven by a ManualClock.
 */
import { describe, expect, it } from "vitest";

import { encodePacket } from "../../../src/protocol/codec.js";
import type { Packet } from "../../../src/protocol/packet.js";
import { ManualClock } from "../../../src/runtime/clock.js";
import { CoreHost, type HostedCore } from "../../../src/shell/core-host.js";
import { DeadlineTicker } from "../../../src/shell/deadline-ticker.js";
import type { Datagram, Endpoint, Transport } from "../../../src/transport/transport.js";

interface Stub {
  readonly clock: ManualClock;
  readonly host: CoreHost<{ kind: "noted" }>;
  readonly ticks: number[];
  /** When ticked at or after its deadline the stub clears it, like a real core, unless stuck. */
  deadlineMs: number | undefined;
  isStuck: boolean;
  deliver(): void;
}

function stub(): Stub {
  const clock = new ManualClock(0);
  let receive: ((datagram: Datagram) => void) | undefined;
  const transport: Transport = {
    local: { host: "127.0.0.1", port: 1 },
    send: () => undefined,
    onReceive: (handler) => {
      receive = handler;
    },
    close: () => Promise.resolve(),
  };
  const state: Stub = {
    clock,
    ticks: [],
    deadlineMs: undefined,
    isStuck: false,
    deliver: () => {
      const packet: Packet = {
        v: 1,
        type: "task.ack",
        from: "calc-1",
        taskId: "00000000-0000-4000-8000-000000000001",
        state: "running",
      };
      receive?.({ from: { host: "127.0.0.1", port: 2 }, bytes: encodePacket(packet) });
    },
    host: undefined as unknown as CoreHost<{ kind: "noted" }>,
  };
  const core: HostedCore<{ kind: "noted" }> = {
    onPacket: (_nowMs: number, _from: Endpoint, _packet: Packet) => [],
    onTick: (nowMs) => {
      state.ticks.push(nowMs);
      if (state.deadlineMs !== undefined && state.deadlineMs <= nowMs && !state.isStuck) state.deadlineMs = undefined;
      return [];
    },
    nextDeadlineMs: () => state.deadlineMs,
  };
  Object.assign(state, {
    host: new CoreHost(
      transport,
      core,
      () => clock.nowMs(),
      () => undefined,
    ),
  });
  return state;
}

describe("DeadlineTicker", () => {
  it("ticks at the announced deadlines and otherwise only at the safety tick", () => {
    const s = stub();
    const ticker = new DeadlineTicker(s.clock, s.host, { tickSpacingMs: 5, safetyTickMs: 250 });
    s.deadlineMs = 42;
    ticker.arm();
    s.clock.advance(41);
    expect(s.ticks).toEqual([]);
    s.deadlineMs = 300; // the tick at 42 clears it; the next one is later than the safety tick
    s.clock.advance(1);
    expect(s.ticks).toEqual([42]);
    s.clock.advance(600);
    expect(s.ticks).toEqual([42, 250, 300, 500]);
    ticker.stop();
  });

  it("moves the timer earlier when an event brings a deadline forward, but not later", () => {
    const s = stub();
    const ticker = new DeadlineTicker(s.clock, s.host, { tickSpacingMs: 1, safetyTickMs: 1_000 });
    s.deadlineMs = 100;
    ticker.arm();
    s.clock.advance(10);
    s.deadlineMs = 20;
    s.host.apply([]); // an event outside onPacket/onTick (e.g. a computation finishing)
    s.deadlineMs = 30;
    s.clock.advance(15);
    expect(s.ticks).toEqual([20]);
    s.clock.advance(10);
    expect(s.ticks).toEqual([20, 30]);
    ticker.stop();
  });

  it("re-arms after a received datagram", () => {
    const s = stub();
    const ticker = new DeadlineTicker(s.clock, s.host, { tickSpacingMs: 1, safetyTickMs: 1_000 });
    s.deadlineMs = 7;
    s.deliver();
    s.clock.advance(10);
    expect(s.ticks).toEqual([7]);
    ticker.stop();
  });

  it("never ticks closer than tickSpacingMs, even for a deadline that stays in the past", () => {
    const s = stub();
    const ticker = new DeadlineTicker(s.clock, s.host, { tickSpacingMs: 5, safetyTickMs: 1_000 });
    s.deadlineMs = 0; // mis-computed: always due
    s.isStuck = true;
    ticker.tickNow();
    s.clock.advance(20);
    expect(s.ticks).toEqual([0, 5, 10, 15, 20]);
    ticker.stop();
  });

  it("does not re-arm a paused host, and stop() leaves no timer behind", () => {
    const s = stub();
    const ticker = new DeadlineTicker(s.clock, s.host, { tickSpacingMs: 1, safetyTickMs: 100 });
    s.host.isRunning = false;
    s.deadlineMs = 0;
    s.clock.advance(250);
    expect(s.ticks).toEqual([]);
    s.host.isRunning = true;
    s.deadlineMs = 260;
    s.host.apply([]);
    s.clock.advance(10);
    expect(s.ticks).toEqual([260]);
    ticker.stop();
    expect(s.clock.scheduledCount).toBe(0);
    s.host.apply([]);
    expect(s.clock.scheduledCount).toBe(0);
  });
});
