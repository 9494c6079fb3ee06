/**
 * Fuzz targets (issue 12 item 5): fast-check properties that drive every decoder (datagrams, the
 * auth envelope, key files), the security edge, every core (dispatcher, calculator, client) and the
 * calculator shell with its overlay agent with the datagrams of fuzz-inputs.ts. They assert: nothing
 * throws, no core emits a packet that fails its schema, no forged or replayed datagram gets past the
 * edge, and every datagram is taken or counted as a drop. Run by test/unit/security/fuzz.test.ts
 * (10 000 cases in all) and by `npm run fuzz -- --runs N`. Only used by tests and tools.
 */
import fc from "fast-check";

import { CalculatorCore } from "../calculator/core.js";
import { startCalculator } from "../calculator/daemon.js";
import { ClientCore } from "../client/core.js";
import { DispatcherCore } from "../dispatcher/core.js";
import { parseTopology } from "../overlay/tree.js";
import { decodeDatagram, encodePacket } from "../protocol/codec.js";
import type { Packet } from "../protocol/packet.js";
import { ManualClock } from "../runtime/clock.js";
import { seededRng, seededUuid } from "../runtime/rng.js";
import { simCalculatorConfig, simClientConfig, simDispatcherConfig } from "../sim/sim-configs.js";
import type { Endpoint } from "../transport/transport.js";
import { open } from "./envelope.js";
import { arbDatagram, arbEvents, DISPATCHER, type FuzzEvent, PEERS } from "./fuzz-inputs.js";
import { edgeProperty, SILENT_LOG, stackProperty, stubTransport } from "./fuzz-stack.js";
import { type Keyring, parseKeyring } from "./keyring.js";

const KEYRING: Keyring = { keys: new Map([["k1", Buffer.alloc(32, 1)]]), activeId: "k1" };

/**
 * Datagram decoding never throws; every datagram yields packets or a counted error, and every packet
 * it yields passes the outbound schema check too. Opening an envelope never throws nor accepts junk.
 */
export const decoderProperty = fc.property(arbDatagram, (bytes) => {
  const contents = decodeDatagram(bytes);
  for (const packet of contents.packets) encodePacket(packet);
  const isOpened = open(KEYRING, bytes).ok;
  return contents.packets.length + contents.errors.length >= 1 && !isOpened;
});

const arbKeyFileText = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
  fc
    .record({
      keys: fc.dictionary(fc.string({ maxLength: 40 }), fc.oneof(fc.base64String({ maxLength: 120 }), fc.jsonValue())),
      active: fc.oneof(fc.string({ maxLength: 40 }), fc.jsonValue()),
    })
    .map((file) => JSON.stringify(file)),
);

/** Key file parsing never throws, and whatever it accepts meets SPEC section 10 (>= 32-byte secrets). */
export const keyFileProperty = fc.property(arbKeyFileText, (text) => {
  const parsed = parseKeyring(text);
  if (!parsed.ok) return parsed.problem.length > 0;
  const { keys, activeId } = parsed.keyring;
  return keys.has(activeId) && [...keys.values()].every((secret) => secret.length >= 32);
});

interface FuzzedCore {
  onPacket(nowMs: number, from: Endpoint, packet: Packet): readonly { kind: string }[];
  onTick(nowMs: number): readonly { kind: string }[];
}

/** Every packet a core wants sent must pass its schema (encodePacket throws on our own bugs). */
function checkOutputs(outputs: readonly { kind: string }[]): void {
  for (const output of outputs)
    if (output.kind === "send") encodePacket((output as unknown as { packet: Packet }).packet);
}

/** Feeds `setup` (well-formed packets building state), then the fuzzed datagrams, ticking in between. */
function drive(core: FuzzedCore, setup: readonly [Endpoint, Packet][], events: readonly FuzzEvent[]): void {
  let nowMs = 0;
  for (const [from, packet] of setup) checkOutputs(core.onPacket(nowMs, from, packet));
  for (const { bytes, from, stepMs } of events) {
    nowMs += stepMs;
    for (const packet of decodeDatagram(bytes).packets) checkOutputs(core.onPacket(nowMs, from, packet));
    checkOutputs(core.onTick(nowMs));
  }
}

const CALC_SOURCE = PEERS[1] as Endpoint;
const CLIENT_SOURCE = PEERS[2] as Endpoint;
const SUBMIT_TASK_ID = "3f2a1c9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b";

/** The dispatcher with a registered calculator and a running task, then fuzzed; bounds still hold. */
export const dispatcherProperty = fc.property(arbEvents, (events) => {
  const config = simDispatcherConfig({ nodeId: "dispatcher" });
  const core = new DispatcherCore(config);
  drive(
    core,
    [
      [CALC_SOURCE, { v: 1, type: "calc.heartbeat", from: "calc-a", boot: 1, seq: 1, capacity: 2, running: 0 }],
      [CLIENT_SOURCE, { v: 1, type: "task.submit", from: "client-1", taskId: SUBMIT_TASK_ID, input: "abc", rounds: 2 }],
    ],
    events,
  );
  const counts = core.counts();
  return core.registry.size <= config.calculatorsMax && counts.queued + counts.running <= config.tasksMax;
});

export const calculatorProperty = fc.property(arbEvents, fc.nat(), (events, seed) => {
  const core = new CalculatorCore(simCalculatorConfig("calc-a", 1, DISPATCHER), seededRng(seed), 0);
  drive(
    core,
    [
      [
        DISPATCHER,
        { v: 1, type: "task.assign", from: "dispatcher", taskId: SUBMIT_TASK_ID, attempt: 1, input: "abc", rounds: 2 },
      ],
    ],
    events,
  );
});

export const clientProperty = fc.property(arbEvents, fc.nat(), (events, seed) => {
  const rng = seededRng(seed);
  // Task ids are unique per client (crypto.randomUUID in the daemon); the first one is the seeds' id.
  let sentCount = 0;
  const newTaskId = (): string => (sentCount++ === 0 ? SUBMIT_TASK_ID : seededUuid(rng));
  const core = new ClientCore(simClientConfig(DISPATCHER), { rng, newTaskId, verify: () => true }, 0);
  drive(core, [], events);
});

const TREE = parseTopology({
  nodes: [
    { id: "a", slots: 2, parents: [] },
    { id: "b", slots: 1, parents: ["a"] },
    { id: "c", slots: 1, parents: ["a"] },
  ],
});

/** The calculator shell with its overlay agent (root of a 3-node tree), on a stub transport. */
export const overlayProperty = fc.property(arbEvents, fc.nat(), (events, seed) => {
  if (!TREE.ok) throw new Error("fuzz topology invalid");
  const clock = new ManualClock(0);
  const wire = stubTransport({ host: "127.0.0.1", port: 7000 }, () => undefined);
  const handle = startCalculator({
    config: simCalculatorConfig("a", 1, DISPATCHER, { queueMax: 8 }),
    overlay: {
      nodeId: "a",
      topology: TREE.topology,
      peers: new Map([
        ["b", CALC_SOURCE],
        ["c", { host: "127.0.0.1", port: 7002 }],
      ]),
      rebalanceIntervalMs: 50,
      waveTimeoutMs: 200,
      childSilenceMs: 100,
      bootMs: 1,
    },
    tickMs: 5,
    transport: wire,
    clock,
    rng: seededRng(seed),
    log: SILENT_LOG,
  });
  for (const { bytes, from, stepMs } of events) {
    clock.advance(stepMs);
    wire.receive?.({ from, bytes });
  }
  clock.advance(1_000);
  void handle.stop();
});

/** A short name, a property, and its share of a run of N cases. */
export interface FuzzTarget {
  readonly name: string;
  readonly property: fc.IProperty<never> | fc.IProperty<unknown>;
  readonly share: number;
}

/** Every target with its share of a run (shares sum to 1). */
export const FUZZ_TARGETS: readonly FuzzTarget[] = [
  { name: "decoders (datagram, envelope)", property: decoderProperty, share: 0.2 },
  { name: "key files", property: keyFileProperty, share: 0.05 },
  { name: "edge (auth, replay, forgery)", property: edgeProperty, share: 0.2 },
  { name: "dispatcher behind the edge (sealed, forged, replayed)", property: stackProperty, share: 0.1 },
  { name: "dispatcher core", property: dispatcherProperty, share: 0.15 },
  { name: "calculator core", property: calculatorProperty, share: 0.1 },
  { name: "client core", property: clientProperty, share: 0.1 },
  { name: "calculator shell + overlay agent", property: overlayProperty, share: 0.1 },
];

/** Runs `target` for `numRuns` cases (seeded when `seed` is given); throws with the counterexample. */
export function checkTarget(target: FuzzTarget, numRuns: number, seed?: number): void {
  const parameters: fc.Parameters<unknown> = seed === undefined ? { numRuns } : { numRuns, seed };
  fc.assert(target.property as fc.IProperty<unknown>, parameters);
}
