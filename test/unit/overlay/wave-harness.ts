/**
 * Test harness: runs echo and Finn node state machines of a topology directly (no codec, no network),
 * delivering in-flight messages in an order chosen by a seeded rng. A failing seed replays exactly.
 */
import { EchoNode, type EchoOutput, type NodeLoad, type SubtreeReport } from "../../../src/overlay/echo.js";
import { type FinnBatch, FinnNode, type FinnOutput } from "../../../src/overlay/finn.js";
import type { Topology } from "../../../src/overlay/tree.js";
import type { Rng } from "../../../src/runtime/rng.js";

type EchoMessage =
  | { kind: "explore"; from: string; to: string; waveId: number }
  | { kind: "echo"; from: string; to: string; waveId: number; report: SubtreeReport };

/** What one or more echo waves produced. */
export interface EchoRun {
  messageCountByWave: Map<number, number>;
  decisions: Map<number, SubtreeReport>;
  ignoredCount: number;
}

/** Names of a list of node indexes. */
export function idsOf(topology: Topology, indexes: readonly number[]): string[] {
  return indexes.map((i) => topology.ids[i] as string);
}

/** Builds one EchoNode per node over the primary-parent tree. */
export function echoNodes(topology: Topology): Map<string, EchoNode> {
  return new Map(
    topology.ids.map((id, i) => [
      id,
      new EchoNode({
        id,
        parent: topology.parents[i]?.[0] === undefined ? undefined : topology.ids[topology.parents[i]?.[0] as number],
        children: idsOf(topology, topology.treeChildren[i] ?? []),
        wavesMax: 8,
      }),
    ]),
  );
}

/** Starts `waveIds` at the root at once and delivers every message in seeded random order. */
export function runEcho(
  topology: Topology,
  rng: Rng,
  waveIds: readonly number[],
  loadOf: (id: string, waveId: number) => NodeLoad,
  duplicateProbability = 0,
): EchoRun {
  const nodes = echoNodes(topology);
  const rootId = topology.ids[topology.root] as string;
  const run: EchoRun = { messageCountByWave: new Map(), decisions: new Map(), ignoredCount: 0 };
  const inFlight: EchoMessage[] = [];
  const collect = (from: string, outputs: EchoOutput[]): void => {
    for (const output of outputs) {
      if (output.kind === "wave_decided") run.decisions.set(output.waveId, output.report);
      else if (output.kind === "wave_ignored") run.ignoredCount += 1;
      else {
        run.messageCountByWave.set(output.waveId, (run.messageCountByWave.get(output.waveId) ?? 0) + 1);
        inFlight.push(
          output.kind === "send_explore" ? { ...output, kind: "explore", from } : { ...output, kind: "echo", from },
        );
      }
    }
  };
  for (const waveId of waveIds) collect(rootId, nodes.get(rootId)?.start(waveId, loadOf(rootId, waveId)) ?? []);
  for (let step = 0; inFlight.length > 0 && step < 1_000_000; step += 1) {
    const index = Math.floor(rng() * inFlight.length);
    const message = inFlight[index] as EchoMessage;
    if (rng() >= duplicateProbability) inFlight.splice(index, 1); // else: delivered now and again later
    const node = nodes.get(message.to);
    if (node === undefined) throw new Error(`no node ${message.to}`);
    collect(
      message.to,
      message.kind === "explore"
        ? node.onExplore(message.from, message.waveId, loadOf(message.to, message.waveId))
        : node.onEcho(message.from, message.waveId, message.report),
    );
  }
  return run;
}

/** What a Finn wave produced. */
export interface FinnRun {
  messageCount: number;
  actedCount: Map<string, number>;
  /** Parents each node had heard from when it acted. */
  heardWhenActed: Map<string, number>;
  completed: { actedCount: number; takenCount: number; remainderCount: number } | undefined;
  takenById: Map<string, number>;
}

/** Runs one Finn wave over the DAG, delivering in seeded random order (with optional duplicates). */
export function runFinn(topology: Topology, rng: Rng, batch: FinnBatch, duplicateProbability = 0): FinnRun {
  const nodes = new Map(
    topology.ids.map((id, i) => [
      id,
      new FinnNode({
        id,
        slots: topology.slots[i] as number,
        parents: idsOf(topology, topology.parents[i] ?? []),
        children: idsOf(topology, topology.children[i] ?? []),
        primaryChildren: idsOf(topology, topology.treeChildren[i] ?? []),
        wavesMax: 4,
      }),
    ]),
  );
  /** Distinct parents each node has heard the wave from so far. */
  const heard = new Map<string, Set<string>>();
  const run: FinnRun = {
    messageCount: 0,
    actedCount: new Map(),
    heardWhenActed: new Map(),
    completed: undefined,
    takenById: new Map(),
  };
  type Message = { from: string; output: FinnOutput & { to: string } };
  const inFlight: Message[] = [];
  const collect = (from: string, outputs: FinnOutput[]): void => {
    for (const output of outputs) {
      if (output.kind === "act") {
        run.actedCount.set(from, (run.actedCount.get(from) ?? 0) + 1);
        run.heardWhenActed.set(from, heard.get(from)?.size ?? 0);
        run.takenById.set(from, output.takeCount);
      } else if (output.kind === "wave_completed") {
        run.completed = output;
      } else if (output.kind === "send_finn" || output.kind === "send_done") {
        run.messageCount += 1;
        inFlight.push({ from, output });
      }
    }
  };
  const rootId = topology.ids[topology.root] as string;
  collect(rootId, nodes.get(rootId)?.start(1, batch) ?? []);
  for (let step = 0; inFlight.length > 0 && step < 1_000_000; step += 1) {
    const index = Math.floor(rng() * inFlight.length);
    const { from, output } = inFlight[index] as Message;
    if (rng() >= duplicateProbability) inFlight.splice(index, 1);
    const node = nodes.get(output.to) as FinnNode;
    if (output.kind === "send_finn") {
      heard.set(output.to, (heard.get(output.to) ?? new Set<string>()).add(from));
      collect(output.to, node.onFinn(from, output.waveId, output.batch));
    } else if (output.kind === "send_done") {
      collect(output.to, node.onDone(from, output.waveId, output.actedCount, output.takenCount));
    }
  }
  return run;
}
