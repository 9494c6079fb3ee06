/**
 * Goal: a calculator's overlay section is checked against its topology before anything starts, with
 * one readable error naming the key: its id must be a node, every other node needs an address, no
 * unknown ids, and slots + queueMax must fit the capacity a heartbeat can announce.
 * Method: overlayAgentConfig on parsed settings with config/overlay/tree-7.json.
 */
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { overlayAgentConfig } from "../../../src/cli/calculator.js";
import { parseConfig } from "../../../src/config/load.js";
import { CalculatorFileConfig } from "../../../src/config/schema.js";

const TOPOLOGY = join(import.meta.dirname, "..", "..", "..", "config", "overlay", "tree-7.json");
const ALL_PEERS = Object.fromEntries(["a", "b", "c", "d", "e", "f", "g"].map((id, i) => [id, `127.0.0.1:${7001 + i}`]));

function settings(overlay: Record<string, unknown>) {
  return parseConfig(
    CalculatorFileConfig,
    { id: "e", overlay: { topology: TOPOLOGY, peers: ALL_PEERS, ...overlay } },
    "calc.json",
  );
}

describe("overlay settings", () => {
  it("builds the node's settings: its topology, every peer's address, rounds on demand when asked", () => {
    const config = overlayAgentConfig(settings({ rebalanceIntervalMs: 0 }), "calc.json", "e", 42);
    expect(config?.nodeId).toBe("e");
    expect(config?.topology.size).toBe(7);
    expect(config?.peers.get("a")).toEqual({ host: "127.0.0.1", port: 7001 });
    expect(config).toMatchObject({ rebalanceIntervalMs: 0, bootMs: 42 });
  });

  it("refuses a missing peer address, naming the node", () => {
    const { g: _g, ...peers } = ALL_PEERS;
    expect(() => overlayAgentConfig(settings({ peers }), "calc.json", "e", 1)).toThrow(
      /overlay\.peers" has no address for node g/,
    );
  });

  it("refuses peers that are not nodes of the topology", () => {
    expect(() =>
      overlayAgentConfig(settings({ peers: { ...ALL_PEERS, zed: "127.0.0.1:9" } }), "calc.json", "e", 1),
    ).toThrow(/names zed, not in the topology/);
  });

  it("refuses slots + queueMax above the capacity a heartbeat can carry", () => {
    expect(() => overlayAgentConfig(settings({ queueMax: 1_022 }), "calc.json", "e", 1)).toThrow(
      /3 slots and key "overlay.queueMax" is 1022/,
    );
  });

  it("refuses an id that is not a node, and a missing id", () => {
    expect(() => overlayAgentConfig(settings({}), "calc.json", "zed", 1)).toThrow(/id "zed" is not a node/);
    expect(() => overlayAgentConfig(settings({}), "calc.json", undefined, 1)).toThrow(/needs key "id"/);
  });
});
