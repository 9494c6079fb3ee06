/**
 * Property: the compiled check (conforms.ts) agrees with zod, the definition of the wire. A check
 * more lenient than zod would let an invalid packet in without zod ever seeing it, so for every
 * golden packet and thousands of mutations of it (a field replaced by arbitrary JSON or by a value at
 * or past a limit, a field removed, an unknown field added) `conformsTo` must say exactly what
 * `safeParse` says. Also: it never throws on any value, and a schema open to any key is refused.
 * Method: fast-check with a fixed seed per packet type, so a failure reproduces.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as z from "zod";

import { BatchFrame } from "../../../src/protocol/batch.js";
import { encodePacket } from "../../../src/protocol/codec.js";
import { conformsTo, fastCheckRefusal, keyOrderOf } from "../../../src/protocol/conforms.js";
import { INPUT_CHARS_MAX, NODE_ID_CHARS_MAX, ROUNDS_MAX } from "../../../src/protocol/limits.js";
import { PACKET_TYPES, Packet } from "../../../src/protocol/packet.js";
import { loadGolden } from "./golden.js";

const golden = loadGolden();

/** Each packet type's own schema, as the codec picks it. */
function schemaOf(type: string): z.ZodType {
  const schema = Packet.options.find((option) => option.shape.type.value === type);
  if (schema === undefined) throw new Error(`no schema for ${type}`);
  return schema;
}

/** Values chosen to sit on either side of the limits and of the unicode-length trap. */
const EDGE_VALUES: readonly unknown[] = [
  "",
  "x".repeat(INPUT_CHARS_MAX),
  "x".repeat(INPUT_CHARS_MAX + 1),
  "😀".repeat(INPUT_CHARS_MAX / 2),
  "😀".repeat(INPUT_CHARS_MAX / 2 + 1),
  "n".repeat(NODE_ID_CHARS_MAX + 1),
  "calc 1",
  "3f2a1c9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
  "3F2A1C9E-5B7D-4E8F-9A0B-1C2D3E4F5A6B",
  "3f2a1c9e-5b7d-0e8f-9a0b-1c2d3e4f5a6b",
  "a".repeat(64),
  "A".repeat(64),
  0,
  -1,
  1.5,
  ROUNDS_MAX,
  ROUNDS_MAX + 1,
  2 ** 53,
  null,
  true,
  [],
  {},
];
const edgeValue = fc.constantFrom(...EDGE_VALUES);

/** A mutation of a packet: replace, remove or add one field. */
function mutation(keys: readonly string[]): fc.Arbitrary<(packet: Record<string, unknown>) => void> {
  const value = fc.oneof(fc.jsonValue(), edgeValue);
  const key = fc.constantFrom(...keys);
  return fc.oneof(
    fc.tuple(key, value).map(([name, next]) => (packet: Record<string, unknown>) => {
      packet[name] = next;
    }),
    key.map((name) => (packet: Record<string, unknown>) => {
      delete packet[name];
    }),
    fc
      .tuple(fc.string({ minLength: 1, maxLength: 8 }), value)
      .map(([name, next]) => (packet: Record<string, unknown>) => {
        packet[name] = next;
      }),
  );
}

/** Applies up to two mutations to the packet and to the first object nested in it. */
function mutated(keysOf: (value: Record<string, unknown>) => string[]) {
  return (base: Record<string, unknown>) =>
    fc
      .array(fc.tuple(fc.boolean(), mutation([...keysOf(base), ...nestedKeys(base)])), { minLength: 1, maxLength: 2 })
      .map((steps) => {
        const packet = structuredClone(base);
        for (const [isNested, step] of steps) step(isNested ? (firstNested(packet) ?? packet) : packet);
        return packet;
      });
}

function firstNested(packet: Record<string, unknown>): Record<string, unknown> | undefined {
  for (const value of Object.values(packet)) {
    const item = Array.isArray(value) ? value[0] : value;
    if (typeof item === "object" && item !== null && !Array.isArray(item)) return item as Record<string, unknown>;
  }
  return undefined;
}

function nestedKeys(packet: Record<string, unknown>): string[] {
  return Object.keys(firstNested(packet) ?? {});
}

describe("conformsTo agrees with zod", () => {
  it.each([...golden.keys()])("on %s and its mutations", (name) => {
    const vector = golden.get(name);
    if (vector === undefined) throw new Error(name);
    const schema = schemaOf(vector.type);
    expect(conformsTo(schema, vector.packet)).toBe(true);
    let rejectedCount = 0;
    fc.assert(
      fc.property(mutated(Object.keys)(vector.packet), (packet) => {
        const isValid = schema.safeParse(packet).success;
        if (!isValid) rejectedCount += 1;
        expect(conformsTo(schema, packet), JSON.stringify(packet)).toBe(isValid);
      }),
      { numRuns: 300, seed: name.length * 7919 },
    );
    // The mutations must actually reach the invalid side, or the property proves nothing.
    expect(rejectedCount).toBeGreaterThan(100);
  });

  it.each([...golden.keys()])("on %s with every edge value in every field, outer and nested", (name) => {
    const vector = golden.get(name);
    if (vector === undefined) throw new Error(name);
    const schema = schemaOf(vector.type);
    const nestedCount = nestedKeys(vector.packet).length;
    for (const isNested of nestedCount > 0 ? [false, true] : [false]) {
      const keys = isNested ? nestedKeys(vector.packet) : Object.keys(vector.packet);
      for (const key of keys) {
        for (const value of EDGE_VALUES) {
          const packet = structuredClone(vector.packet);
          (isNested ? (firstNested(packet) ?? packet) : packet)[key] = value;
          expect(conformsTo(schema, packet), `${key}=${JSON.stringify(value)}`).toBe(schema.safeParse(packet).success);
        }
      }
    }
  });

  it("on batch frames with good and bad envelopes", () => {
    const frame = { v: 1, from: "calc-1", type: "batch", packets: [{}, {}] };
    expect(conformsTo(BatchFrame, frame)).toBe(true);
    fc.assert(
      fc.property(mutated(Object.keys)(frame), (candidate) => {
        expect(conformsTo(BatchFrame, candidate)).toBe(BatchFrame.safeParse(candidate).success);
      }),
      { numRuns: 300, seed: 42 },
    );
  });

  it.each([...PACKET_TYPES])("never throws on %s, whatever the value, and agrees with zod", (type) => {
    const schema = schemaOf(type);
    fc.assert(
      fc.property(fc.anything(), (value) => {
        expect(conformsTo(schema, value)).toBe(schema.safeParse(value).success);
      }),
      { numRuns: 150, seed: type.length },
    );
  });
});

describe("which schemas get a compiled check", () => {
  it("every packet type and the batch frame has one", () => {
    for (const option of Packet.options) expect(fastCheckRefusal(option), option.shape.type.value).toBeUndefined();
    expect(fastCheckRefusal(BatchFrame)).toBeUndefined();
  });

  it.each([
    ["a default", z.strictObject({ n: z.int().default(3) }), /input and output differ/],
    [
      "a transform",
      z.strictObject({ n: z.string().transform((text) => text.length) }),
      /input and output differ|Transforms/,
    ],
    ["a record", z.strictObject({ counts: z.record(z.string(), z.number()) }), /open to any key/],
    [
      "nested objects that order shared names differently",
      z.strictObject({ a: z.int(), b: z.int(), inner: z.strictObject({ b: z.int(), a: z.int() }) }),
      /order the same names differently/,
    ],
  ])("a schema with %s gets none, so zod judges every value and nothing throws", (_name, schema, why) => {
    expect(fastCheckRefusal(schema)).toMatch(why);
    expect(conformsTo(schema, { n: 1 })).toBe(false);
    expect(keyOrderOf(schema)).toBeUndefined();
  });

  it("no wire schema uses what JSON Schema drops silently: refinements, custom checks, regex flags", () => {
    const dir = fileURLToPath(new URL("../../../src/protocol/", import.meta.url));
    for (const file of readdirSync(dir).filter((name) => name.endsWith(".ts"))) {
      const source = readFileSync(`${dir}${file}`, "utf8");
      expect(source, file).not.toMatch(/\.(refine|superRefine|check|transform|overwrite)\(|z\.custom[<(]/);
      expect(source, file).not.toMatch(/\.regex\(\/(?:[^/\\\n]|\\.)+\/[a-z]+\)/);
    }
  });
});

describe("keyOrderOf", () => {
  it("lists a packet's fields in the schema's order", () => {
    expect(keyOrderOf(schemaOf("task.submit"))?.slice(0, 6)).toEqual([
      "v",
      "from",
      "type",
      "taskId",
      "input",
      "rounds",
    ]);
  });

  it.each([...golden.keys()])("writes %s canonically with its keys reversed at every level", (name) => {
    const vector = golden.get(name);
    if (vector === undefined) throw new Error(name);
    const reversed = reverseKeys(vector.packet) as Packet;
    expect(new TextDecoder().decode(encodePacket(reversed))).toBe(vector.wire);
  });
});

/** A deep copy of `value` with every object's keys in reverse order. */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([key, item]) => [key, reverseKeys(item)]),
  );
}
