/**
 * Goal: a peer's echo report is untrusted input: a bad one (a node listed twice, a stranger, wrong
 * slots, aggregates that do not add up) is rejected with a counter and a warning and the root keeps
 * running; no report, however bad, reaches an assertion in the planner.
 * Method: table-driven checkReport cases; fast-check arbitrary reports through RebalanceRound; a real
 * root OverlayAgent fed a child's echo listing a node twice (the report that used to crash the root);
 * a node whose children's reports add up to more entries than one report may carry.
 */
import fc from "fast-check";
import pino from "pino";
import { describe, expect, it } from "vitest";

import { OverlayAgent } from "../../../src/overlay/agent.js";
import { type AgentPorts, EchoOutputs } from "../../../src/overlay/agent-outputs.js";
import type { ReportEntry, SubtreeReport } from "../../../src/overlay/echo.js";
import { splitReport } from "../../../src/overlay/echo-parts.js";
import { RebalanceRound } from "../../../src/overlay/rebalance-round.js";
import { checkReport } from "../../../src/overlay/report-check.js";
import { parseTopology, type Topology } from "../../../src/overlay/tree.js";
import type { Packet } from "../../../src/protocol/packet.js";
import type { Endpoint } from "../../../src/transport/transport.js";

function topologyOf(): Topology {
  const parsed = parseTopology({
    nodes: [
      { id: "a", slots: 2, parents: [] },
      { id: "b", slots: 1, parents: ["a"] },
      { id: "c", slots: 2, parents: ["a"] },
    ],
  });
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.topology;
}

function reportOf(entries: ReportEntry[]): SubtreeReport {
  return {
    nodeCount: entries.length,
    slotsSum: entries.reduce((sum, e) => sum + e[2], 0),
    queuedSum: entries.reduce((sum, e) => sum + e[3], 0),
    entries,
  };
}

describe("checkReport", () => {
  const topology = topologyOf();
  it("passes a consistent report", () => {
    const checked = checkReport(
      reportOf([
        ["a", 0, 2, 5],
        ["b", 1, 1, 0],
        ["c", 2, 2, 1],
      ]),
      topology,
    );
    expect(checked).toEqual({
      ok: true,
      nodes: [
        { id: "a", slots: 2, queued: 5 },
        { id: "b", slots: 1, queued: 0 },
        { id: "c", slots: 2, queued: 1 },
      ],
    });
  });
  it.each([
    [
      "duplicate_id",
      reportOf([
        ["a", 0, 2, 5],
        ["b", 1, 1, 0],
        ["b", 2, 1, 9],
      ]),
    ],
    [
      "unknown_node",
      reportOf([
        ["a", 0, 2, 5],
        ["zz", 1, 1, 0],
      ]),
    ],
    [
      "slots_mismatch",
      reportOf([
        ["a", 0, 2, 5],
        ["b", 1, 7, 0],
      ]),
    ],
    [
      "bad_numbers",
      reportOf([
        ["a", 0, 2, 5],
        ["b", 1, 0, 0],
      ]),
    ],
    ["bad_numbers", reportOf([["a", 0, 2, -1]])],
    ["too_large", reportOf([["a", 0, 2, 2_000_000]])],
    [
      "sums_mismatch",
      {
        ...reportOf([
          ["a", 0, 2, 5],
          ["b", 1, 1, 0],
        ]),
        queuedSum: 4,
      },
    ],
    ["empty", reportOf([])],
  ] as const)("rejects %s", (reason, report) => {
    const checked = checkReport(report, topology);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.reason).toBe(reason);
  });
});

describe("RebalanceRound with an arbitrary report", () => {
  it("the report that used to trip 'surplus and deficit do not balance' is rejected, not asserted", () => {
    const round = new RebalanceRound(7, 0, 1_000, 3);
    const orders = round.onDecided(
      reportOf([
        ["a", 0, 2, 9],
        ["b", 1, 1, 0],
        ["b", 2, 1, 0],
      ]),
    );
    expect(orders).toEqual([]);
    expect(round.rejection?.reason).toBe("duplicate_id");
    expect(round.end(5).status).toBe("rejected");
  });

  it("never throws, whatever a peer reports", () => {
    const entry = fc.tuple(
      fc.constantFrom("a", "b", "c", "d"),
      fc.nat(3),
      fc.integer({ min: -1, max: 4 }),
      fc.integer({ min: -1, max: 30 }),
    );
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 8 }), fc.nat(40), fc.boolean(), (entries, queuedSum, honest) => {
        const report = honest ? reportOf(entries) : { ...reportOf(entries), queuedSum };
        const round = new RebalanceRound(1, 0, 1_000, 4);
        const orders = round.onDecided(report);
        expect(orders.length === 0 || round.rejection === undefined).toBe(true);
        round.end(1);
      }),
      { seed: 13, numRuns: 2_000 },
    );
  });
});

describe("a root fed a bad report", () => {
  it("counts it, warns, ends the round as rejected and keeps running", () => {
    const topology = topologyOf();
    const peers = new Map<string, Endpoint>([
      ["a", { host: "127.0.0.1", port: 1 }],
      ["b", { host: "127.0.0.1", port: 2 }],
      ["c", { host: "127.0.0.1", port: 3 }],
    ]);
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: "debug" }, { write: (text: string) => void lines.push(JSON.parse(text)) });
    const sent: Array<{ to: Endpoint; packet: Packet }> = [];
    let nowMs = 1_000;
    const agent = new OverlayAgent({
      config: {
        nodeId: "a",
        topology,
        peers,
        rebalanceIntervalMs: 100,
        waveTimeoutMs: 5_000,
        childSilenceMs: 5_000,
        bootMs: 1,
      },
      queue: {
        slots: 2,
        queuedCount: () => 9,
        reserveQueued: () => [],
        commitMoved: () => undefined,
        releaseReserved: () => undefined,
        acceptIncoming: () => ({ accepted: [], refused: [] }),
      },
      send: (to, packet) => void sent.push({ to, packet }),
      nowMs: () => nowMs,
      log,
    });
    nowMs += 200;
    agent.onTick(nowMs);
    const explore = sent.find((s) => s.packet.type === "wave.explore")?.packet as { waveId: number } | undefined;
    expect(explore).toBeDefined();
    const waveId = explore?.waveId ?? 0;
    const echo = (from: string, seq: number, ids: string[], slots: number[], queued: number[]): Packet =>
      ({
        v: 1,
        from,
        type: "wave.echo",
        seq,
        waveId,
        part: 0,
        parts: 1,
        nodeCount: ids.length,
        slotsSum: slots.reduce((x, y) => x + y, 0),
        queuedSum: queued.reduce((x, y) => x + y, 0),
        ids,
        parentGaps: ids.map((_, i) => i),
        slots,
        queued,
      }) as Packet;
    // b claims c as its child too: c is listed twice in the root's decision.
    agent.onPacket(nowMs, peers.get("b") as Endpoint, echo("b", 1, ["b", "c"], [1, 2], [0, 0]) as never);
    expect(() =>
      agent.onPacket(nowMs, peers.get("c") as Endpoint, echo("c", 1, ["c"], [2], [0]) as never),
    ).not.toThrow();
    expect(agent.droppedCounts.get("report_duplicate_id")).toBe(1);
    expect(lines.some((l) => l["msg"] === "echo report rejected: no moves this round" && l["level"] === 40)).toBe(true);
    expect(lines.some((l) => l["msg"] === "rebalance round rejected")).toBe(true);
    // The root goes on: the next interval starts another wave.
    sent.length = 0;
    nowMs += 200;
    agent.onTick(nowMs);
    expect(sent.some((s) => s.packet.type === "wave.explore")).toBe(true);
  });
});

describe("children's reports that add up to more than a report may carry", () => {
  const entries: ReportEntry[] = Array.from({ length: 150_001 }, (_, k) => [`n${k}`, k === 0 ? 0 : 1, 1, 0]);
  const report = reportOf(entries);

  it("splitReport says it does not fit instead of asserting", () => {
    expect(splitReport(report)).toBeUndefined();
    expect(splitReport(reportOf(entries.slice(0, 150_000)))?.length).toBe(1_000);
  });

  it("the node's echo is dropped with a counter and a warning; nothing is sent", () => {
    const drops: string[] = [];
    const warnings: string[] = [];
    const sent: unknown[] = [];
    const log = { info: () => undefined, warn: (_: unknown, msg: string) => void warnings.push(msg) };
    const ports = {
      queue: {} as AgentPorts["queue"],
      log: log as unknown as AgentPorts["log"],
      send: (_nowMs: number, _to: string, draft: unknown) => void sent.push(draft),
      drop: (reason: string) => void drops.push(reason),
    } satisfies AgentPorts;
    const outputs = [{ kind: "send_echo", to: "a", waveId: 7, report }] as const;
    expect(() => new EchoOutputs(8).perform(ports, 0, outputs, () => undefined)).not.toThrow();
    expect(drops).toEqual(["echo_report_too_large"]);
    expect(warnings).toEqual(["echo report too large"]);
    expect(sent).toEqual([]);
  });
});
