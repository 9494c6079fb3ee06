/**
 * Goal: the shipped config files work together by hand (SPEC section 3): a client with
 * config/client.json against a dispatcher and 3 calculators with the shipped files keeps the
 * calculators under half busy, and the client waits longer than the dispatcher's queue timeout, so a
 * task that cannot be done is answered `timeout` before the client gives up. Also: the shipped files
 * say what the defaults say (an operator reading a file reads the defaults).
 * Method: load the real files through the real schemas and do the queueing arithmetic on them:
 * offered work = arrival rate x mean compute time, with outages and the work they throw away counted
 * against the calculators, divided by the slots of 3 calculators.
 */
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { loadConfigFile } from "../../../src/config/load.js";
import { CalculatorFileConfig, ClientFileConfig, DispatcherFileConfig } from "../../../src/config/schema.js";

const CONFIG_DIR = join(import.meta.dirname, "../../../config");
/** The hand-started cluster of the documented recipe (docs/OPERATIONS.md). */
const CALCULATOR_COUNT = 3;

const dispatcher = loadConfigFile(DispatcherFileConfig, join(CONFIG_DIR, "dispatcher.json"));
const calculator = loadConfigFile(CalculatorFileConfig, join(CONFIG_DIR, "calculator.json"));
const client = loadConfigFile(ClientFileConfig, join(CONFIG_DIR, "client.json"));

const mean = (range: { readonly min: number; readonly max: number }): number => (range.min + range.max) / 2;

/** Busy fraction of the calculators' slots under the shipped client's open-loop load, in [0, 1+). */
function busyFraction(): number {
  const arrivalsPerS = 1_000 / mean(client.intervalMs);
  const computeS = (mean(calculator.computeMs) / 1_000) * client.rounds;
  // An outage takes a calculator away for mean(durationMs) out of every checkIntervalMs with `probability`.
  const { failure } = calculator;
  const downFraction = (failure.probability * mean(failure.durationMs)) / failure.checkIntervalMs;
  // Each outage throws away the copies it held: at most `capacity` copies, half done on average.
  const outagesPerS = failure.probability / (failure.checkIntervalMs / 1_000);
  const wastedSlotSPerS = outagesPerS * calculator.capacity * (computeS / 2);
  const slots = CALCULATOR_COUNT * calculator.capacity;
  const usableSlots = slots * (1 - downFraction) - CALCULATOR_COUNT * wastedSlotSPerS;
  return (arrivalsPerS * computeS) / usableSlots;
}

describe("shipped configs work together by hand", () => {
  it("3 calculators stay under half busy with the shipped client", () => {
    const busy = busyFraction();
    expect(busy).toBeGreaterThan(0);
    expect(busy).toBeLessThan(0.5);
  });

  it("the arithmetic catches the old recipe (capacity 1, 100-1000 ms) as overloaded", () => {
    // The recipe that gave a 38 s median latency: 1 slot per calculator, a task every 550 ms on average.
    const arrivalsPerS = 1_000 / mean({ min: 100, max: 1_000 });
    expect((arrivalsPerS * 4.5) / (CALCULATOR_COUNT * 1)).toBeGreaterThan(1);
  });

  it("the client waits longer than the dispatcher's queue timeout", () => {
    expect(client.requestTimeoutMs).toBeGreaterThan(dispatcher.queueTimeoutMs);
    // The timeout answer needs a moment to travel and be resent: a margin of at least a few seconds.
    expect(client.requestTimeoutMs - dispatcher.queueTimeoutMs).toBeGreaterThanOrEqual(5_000);
  });

  it("the client's and the calculator's dispatcher is the dispatcher's listen address", () => {
    expect(client.dispatcher).toEqual(dispatcher.listen);
    expect(calculator.dispatcher).toEqual(dispatcher.listen);
  });

  it("the shipped files say what the defaults say", () => {
    expect(DispatcherFileConfig.parse({})).toMatchObject(dispatcher);
    expect(ClientFileConfig.parse({})).toMatchObject(client);
    // The calculator file pins listen.host to 127.0.0.1 where the default is `auto` (the same here).
    expect(CalculatorFileConfig.parse({})).toMatchObject({ ...calculator, listen: { host: "auto", port: 0 } });
  });
});
