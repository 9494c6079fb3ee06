/**
 * Goal: run-cluster's round line is built from the root's own log line alone: its wave message count
 * (not a sum over the other nodes' logs, which may not have arrived yet), moves and queues.
 * Method: formatRound on a root line as agent.ts logs it.
 */
import { describe, expect, it } from "vitest";

import { formatRound } from "../../../src/cluster/overlay-cluster.js";

describe("formatRound", () => {
  it("prints the root's wave message count, moves and queues before and after", () => {
    const line = {
      msg: "rebalance round",
      round: 3,
      status: "done",
      nodeCount: 7,
      reachedCount: 7,
      waveMessages: 12,
      movedCount: 18,
      loadsBefore: { a: 22, b: 0 },
      loadsAfter: { a: 4, b: 2 },
    };
    expect(formatRound(line)).toBe(
      "round 3: done, 7/7 nodes, 12 wave messages, 18 tasks moved; queued before [a:22 b:0] after [a:4 b:2]",
    );
  });

  it("a timed-out round without loads still prints one line", () => {
    expect(formatRound({ msg: "rebalance round timed out", round: 4, status: "timeout", nodeCount: 7 })).toBe(
      "round 4: timeout, ?/7 nodes, ? wave messages, ? tasks moved; queued before [] after []",
    );
  });
});
