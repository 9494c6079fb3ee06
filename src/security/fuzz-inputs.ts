/**
 * Inputs for the fuzz targets (issue 12 item 5): datagrams that are random, mutated (at the JSON and
 * the byte level), truncated, oversized or batched, seeded from every golden wire vector in
 * test/golden/ (so a new packet type is fuzzed as soon as it has a vector) plus packets naming the
 * nodes the targets know. Only used by tests and `npm run fuzz`: it imports fast-check, a dev
 * dependency, and reads the golden files from the repository.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import fc from "fast-check";

import { DATAGRAM_BYTES_MAX } from "../protocol/limits.js";
import type { Endpoint } from "../transport/transport.js";

/** The dispatcher's address, and the other sources datagrams come from. */
export const DISPATCHER: Endpoint = { host: "127.0.0.1", port: 5555 };
export const PEERS: readonly Endpoint[] = [
  DISPATCHER,
  { host: "127.0.0.1", port: 7001 },
  { host: "10.0.0.9", port: 4000 },
];
export const TASK_ID = "3f2a1c9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b";
/** Node ids the targets know (registered calculator, overlay nodes, client, dispatcher). */
const KNOWN_IDS = ["calc-a", "a", "b", "c", "client-1", "client-sim", "dispatcher", "cluster-cli"];

/** The repository root: the nearest directory above this file with a package.json. */
function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 8 && !existsSync(join(dir, "package.json")); depth += 1) dir = dirname(dir);
  return dir;
}

/** Every golden wire string (test/golden/*.json and test/golden/batch/*.json). */
function goldenWires(): string[] {
  const root = join(repositoryRoot(), "test", "golden");
  const wires: string[] = [];
  for (const dir of [root, join(root, "batch")]) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)
      .filter((n) => n.endsWith(".json"))
      .sort()) {
      const vector = JSON.parse(readFileSync(join(dir, name), "utf8")) as { wire?: unknown };
      if (typeof vector.wire === "string") wires.push(vector.wire);
    }
  }
  return wires;
}

/** Packets that name the targets' own nodes and task, so they reach deep into each core's state. */
const LOCAL_SEEDS: readonly object[] = [
  { v: 1, type: "task.submit", from: "client-1", taskId: TASK_ID, input: "abc", rounds: 2 },
  { v: 1, type: "task.cancel", from: "client-1", taskId: TASK_ID },
  { v: 1, type: "task.assign", from: "dispatcher", taskId: TASK_ID, attempt: 1, input: "abc", rounds: 2 },
  { v: 1, type: "task.ack", from: "calc-a", taskId: TASK_ID, state: "running" },
  { v: 1, type: "task.done", from: "calc-a", taskId: TASK_ID, attempt: 1, result: "a".repeat(64) },
  { v: 1, type: "task.result", from: "dispatcher", taskId: TASK_ID, result: "b".repeat(64), attempts: 1 },
  { v: 1, type: "task.failed", from: "dispatcher", taskId: TASK_ID, reason: "timeout" },
  { v: 1, type: "calc.heartbeat", from: "calc-a", boot: 1, seq: 1, capacity: 2, running: 0 },
  { v: 1, type: "calc.heartbeat", from: "b", boot: 1, seq: 2, capacity: 4, running: 1 },
];

const encoder = new TextEncoder();

/** Seed datagrams: the golden vectors and the local seeds, as wire strings. */
export const SEED_WIRES: readonly string[] = [...goldenWires(), ...LOCAL_SEEDS.map((p) => JSON.stringify(p))];

/** Seed datagrams parsed, for JSON-level mutation. */
const SEED_OBJECTS: readonly Record<string, unknown>[] = SEED_WIRES.map((w) => JSON.parse(w));

const arbSeed = fc.constantFrom(...SEED_OBJECTS);

/** A seed with one field set to a random JSON value, a known id, or removed. */
const arbJsonMutation = fc
  .tuple(
    arbSeed,
    fc.nat(),
    fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(...KNOWN_IDS), fc.constant(undefined)),
  )
  .map(([packet, at, value]) => {
    const keys = Object.keys(packet);
    const key = keys[at % keys.length] ?? "type";
    const copy: Record<string, unknown> = { ...packet };
    if (value === undefined) delete copy[key];
    else copy[key] = value;
    return encoder.encode(JSON.stringify(copy));
  });

/** A seed sent as if by a known node: real paths, forged identities. */
const arbImpersonation = fc
  .tuple(arbSeed, fc.constantFrom(...KNOWN_IDS))
  .map(([packet, from]) => encoder.encode(JSON.stringify({ ...packet, from })));

/** A seed with bytes overwritten at random places. */
const arbByteMutation = fc
  .tuple(arbSeed, fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }))
  .map(([packet, edits]) => {
    const bytes = encoder.encode(JSON.stringify(packet));
    for (const [at, byte] of edits) bytes[at % bytes.length] = byte;
    return bytes;
  });

/** A seed cut short. */
const arbTruncation = fc.tuple(arbSeed, fc.nat()).map(([packet, cut]) => {
  const bytes = encoder.encode(JSON.stringify(packet));
  return bytes.subarray(0, cut % bytes.length);
});

/** Larger than any datagram may be: JSON that would parse, or junk. */
const arbOversized = fc
  .tuple(fc.nat(200), fc.boolean())
  .map(([extra, isJson]) =>
    isJson
      ? encoder.encode(JSON.stringify({ v: 1, type: "task.submit", pad: "x".repeat(DATAGRAM_BYTES_MAX + extra) }))
      : new Uint8Array(DATAGRAM_BYTES_MAX + 1 + extra).fill(0x7b),
  );

/** A batch frame of seeds (possibly naming another sender than its packets). */
const arbBatch = fc
  .tuple(fc.array(arbSeed, { minLength: 1, maxLength: 5 }), fc.constantFrom(...KNOWN_IDS))
  .map(([packets, from]) => encoder.encode(JSON.stringify({ v: 1, from, type: "batch", packets })));

/** A datagram: random bytes, a seed as is, mutated, impersonated, truncated, oversized, or batched. */
export const arbDatagram: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.constantFrom(...SEED_WIRES).map((wire) => encoder.encode(wire)),
  arbJsonMutation,
  arbImpersonation,
  arbByteMutation,
  arbTruncation,
  arbOversized,
  arbBatch,
);

/** A datagram from one of a few sources, `stepMs` after the previous one. */
export interface FuzzEvent {
  readonly bytes: Uint8Array;
  readonly from: Endpoint;
  readonly stepMs: number;
}

export const arbEvents: fc.Arbitrary<FuzzEvent[]> = fc.array(
  fc.record({ bytes: arbDatagram, from: fc.constantFrom(...PEERS), stepMs: fc.nat(500) }),
  { maxLength: 12 },
);
