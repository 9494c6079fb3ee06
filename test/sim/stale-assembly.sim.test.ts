/**
 * Goal: a multi-part echo report whose sender never sends the rest (it died, or the part is a
 * straggler) does not hold an assembly slot forever, in both hosts of the one overlay node shell
 * (OverlayAgent): the simulator behind run-overlay-sim (OverlaySimCluster) and a calculator daemon
 * (startCalculator with an overlay section). Were assemblies never freed, a long-running overlay would
 * fill its EchoAssembler (64) and reject every later multi-part echo, whose parts were already acked.
 * Method: node d sends its parent b part 0 of a 2-part echo of the first wave, from d's own address,
 * and nothing more; the root then runs rounds. The orphan is held through wave 1 + AGENT_WAVES_MAX and
 * gone once wave 1 + AGENT_WAVES_MAX + 1 has reached b, while every round still completes.
 */
import pino from "pino";
import { describe, expect, it } from "vitest";

import { startCalculator } from "../../src/calculator/daemon.js";
import { AGENT_WAVES_MAX, type OverlayAgent } from "../../src/overlay/agent.js";
import { loadTopologyFile } from "../../src/overlay/files.js";
import { OverlaySimCluster } from "../../src/overlay/sim-cluster.js";
import { encodePacket } from "../../src/protocol/codec.js";
import type { WaveEcho } from "../../src/protocol/overlay-packets.js";
import { ManualClock } from "../../src/runtime/clock.js";
import { seededRng } from "../../src/runtime/rng.js";
import { simCalculatorConfig } from "../../src/sim/sim-configs.js";
import { MemoryNetwork } from "../../src/transport/memory-network.js";
import type { Endpoint, Transport } from "../../src/transport/transport.js";

const topology = loadTopologyFile("config/overlay/tree-7.json");
const B = topology.mustIndexOf("b");
const D = topology.mustIndexOf("d");
/** Rounds after which wave 1's orphan must be gone: explores of waves up to 1 + AGENT_WAVES_MAX keep it. */
const ROUNDS_KEEPING = AGENT_WAVES_MAX + 1;

/** Part 0 of 2 of d's echo for `waveId`, as d's link would stamp it (a seq d never used). */
function orphanPart(waveId: number, boot: number): Uint8Array {
  const part: WaveEcho = {
    v: 1,
    from: "d",
    type: "wave.echo",
    seq: 900_000_000_000_000,
    boot,
    toBoot: 0,
    waveId,
    part: 0,
    parts: 2,
    nodeCount: 2,
    slotsSum: 2,
    queuedSum: 0,
    ids: ["d"],
    parentGaps: [0],
    slots: [1],
    queued: [0],
  };
  return encodePacket(part);
}

describe("an orphaned multi-part echo assembly expires", () => {
  it("in the simulator (run-overlay-sim's OverlaySimCluster)", () => {
    const loads = { a: 7, b: 0, c: 12, d: 1, e: 0, f: 9, g: 3 };
    const cluster = new OverlaySimCluster({ topology, loads, taskRng: seededRng(1), lossProbability: 0, seed: 1 });
    const b = cluster.agents[B] as OverlayAgent;
    (cluster.transports[D] as Transport).send((cluster.transports[B] as Transport).local, orphanPart(1, 1));
    cluster.runUntil(() => (b.pendingAssemblyCount === 1 ? true : undefined), "the orphan part");
    const waveIds: number[] = [];
    for (let round = 1; round <= ROUNDS_KEEPING; round += 1) {
      const result = cluster.rebalance();
      expect(result.status).toBe("done");
      waveIds.push(result.waveId);
      expect(b.pendingAssemblyCount).toBe(1);
    }
    expect(waveIds[0]).toBe(1); // the orphan belongs to the first round's wave
    expect(cluster.rebalance().status).toBe("done");
    expect(b.pendingAssemblyCount).toBe(0);
  });

  it("in calculator daemons (startCalculator with an overlay section)", async () => {
    const clock = new ManualClock(0);
    const now = (): number => clock.nowMs();
    const network = new MemoryNetwork({
      rng: seededRng(3),
      lossProbability: 0,
      duplicateProbability: 0,
      delayMsMax: 5,
      inFlightMax: 10_000,
    });
    const rounds: Array<{ waveId: number; status: string }> = [];
    const log = pino(
      { level: "info" },
      {
        write: (text: string) => {
          const line = JSON.parse(text) as { msg: string; waveId: number; status: string };
          if (line.msg.startsWith("rebalance round")) rounds.push(line);
        },
      },
    );
    const endpoint = (i: number): Endpoint => ({ host: `10.0.1.${i + 1}`, port: 7001 + i });
    const peers = new Map(topology.ids.map((id, i) => [id, endpoint(i)]));
    const bootMs = 5_000;
    const transports = topology.ids.map((_, i) => network.bind(now, endpoint(i).host, endpoint(i).port));
    const handles = topology.ids.map((id, i) =>
      startCalculator({
        config: simCalculatorConfig(
          id,
          bootMs,
          { host: "10.0.0.1", port: 7000 },
          {
            capacity: topology.slots[i] as number,
            queueMax: 500,
            overlayRole: i === topology.root ? "root" : "node",
          },
        ),
        tickMs: 10,
        transport: transports[i] as Transport,
        clock,
        rng: seededRng(i),
        log,
        overlay: {
          nodeId: id,
          topology,
          peers,
          rebalanceIntervalMs: 200,
          waveTimeoutMs: 2_000,
          childSilenceMs: 800,
          bootMs,
        },
      }),
    );
    const b = handles[B]?.overlay as OverlayAgent;
    const advanceUntil = (done: () => boolean): void => {
      for (let i = 0; i < 100_000 && !done(); i += 1) {
        clock.advance(1);
        network.deliverDue(clock.nowMs());
      }
      expect(done()).toBe(true);
    };
    // The root's first wave (bootMs + 1) starts after one interval; the orphan claims to belong to it.
    (transports[D] as Transport).send(endpoint(B), orphanPart(bootMs + 1, bootMs));
    advanceUntil(() => b.pendingAssemblyCount === 1);
    advanceUntil(() => rounds.length === ROUNDS_KEEPING);
    expect(rounds.map((r) => r.waveId)).toEqual(Array.from({ length: ROUNDS_KEEPING }, (_, k) => bootMs + 1 + k));
    expect(rounds.every((r) => r.status === "done")).toBe(true);
    expect(b.pendingAssemblyCount).toBe(1);
    advanceUntil(() => rounds.length === ROUNDS_KEEPING + 1);
    expect(b.pendingAssemblyCount).toBe(0);
    for (const handle of handles) await handle.stop();
  });
});
