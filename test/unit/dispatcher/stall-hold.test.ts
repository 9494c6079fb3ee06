/**
 * Goal: the registry's lag awareness (issue 12 item 6): after the shell reports an event-loop stall,
 * silence is judged as of the stall's start for STALL_DRAIN_MS, so a calculator whose heartbeat queued
 * unread behind the stall is not declared dead, while one that was silent too long before the stall
 * still is, and once the backlog is read the normal rule applies again. A stall reported during a hold
 * widens it but does not lengthen it. nextExpiryMs wakes the core at the hold's end.
 * Method: a CalculatorRegistry fed heartbeats and explicit nowMs, with and without noteStall.
 */
import { describe, expect, it } from "vitest";

import { CalculatorRegistry, STALL_DRAIN_MS } from "../../../src/dispatcher/registry.js";
import { CALC, heartbeatPacket } from "./fixtures.js";

function registry(): CalculatorRegistry {
  return new CalculatorRegistry({ heartbeatTimeoutMs: 400, evictAfterMs: 4_000, calculatorsMax: 8 });
}

const deadIds = (r: CalculatorRegistry, nowMs: number): string[] => r.expire(nowMs).dead.map((e) => e.id);

describe("CalculatorRegistry stall hold", () => {
  it("without a reported stall, the tick after a stall kills a calculator whose heartbeat is still unread", () => {
    const r = registry();
    r.onHeartbeat(0, CALC.a, heartbeatPacket("a", 1));
    // The loop stalls from 300 to 550; a heartbeat arrives at 350 but is read only after the tick at 550.
    expect(deadIds(r, 550)).toEqual(["calc-a"]);
  });

  it("after a reported stall, judges silence as of its start until the backlog is read", () => {
    const r = registry();
    r.onHeartbeat(0, CALC.a, heartbeatPacket("a", 1));
    r.onHeartbeat(-200, CALC.b, heartbeatPacket("b", 1)); // silent for 500 ms before the stall ended
    r.noteStall(550, 300);
    expect(deadIds(r, 550)).toEqual(["calc-b"]); // silent 500 > 400 already at 300: dead
    expect(r.nextExpiryMs()).toBe(550 + STALL_DRAIN_MS);
    r.onHeartbeat(550, CALC.a, heartbeatPacket("a", 2)); // the queued heartbeat, read after the tick
    expect(deadIds(r, 550 + STALL_DRAIN_MS)).toEqual([]);
    expect(r.get("calc-a")).toMatchObject({ isAlive: true, lastHeardMs: 550 });
  });

  it("a calculator that really went silent is declared dead once the hold is over", () => {
    const r = registry();
    r.onHeartbeat(0, CALC.a, heartbeatPacket("a", 1));
    r.noteStall(550, 300);
    expect(deadIds(r, 550 + STALL_DRAIN_MS - 1)).toEqual([]);
    expect(deadIds(r, 550 + STALL_DRAIN_MS)).toEqual(["calc-a"]);
  });

  it("a stall reported during a hold widens it back to the earlier start but does not lengthen it", () => {
    const r = registry();
    r.onHeartbeat(0, CALC.a, heartbeatPacket("a", 1));
    r.noteStall(550, 300);
    r.noteStall(560, 555); // a second late timer in the same turn: its start is later
    expect(deadIds(r, 560)).toEqual([]); // still judged as of 300
    r.noteStall(565, 100);
    expect(deadIds(r, 550 + STALL_DRAIN_MS)).toEqual(["calc-a"]); // the hold ended at 570 all the same
  });
});
