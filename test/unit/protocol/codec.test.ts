/**
 * Goal: the codec is the wire contract. Known-good datagrams decode to exactly the packets in
 * test/golden/ and encodePacket reproduces them byte for byte; every kind of bad datagram is
 * rejected with the code the daemons count it by; decodePacket never throws on anything a peer
 * can send; encodePacket throws on our own invalid packets.
 * Method: golden vectors (at least one per packet type in PACKET_TYPES, shared with
 * docs/PROTOCOL.md; `<type>.json`, plus `<type>--<variant>.json` for other shapes of the same type),
 * a table of negative cases built by mutating a golden packet, and fast-check properties over
 * arbitrary bytes, arbitrary JSON and arbitrary field values.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { DECODE_ERROR_CODES, type DecodeErrorCode, decodePacket, encodePacket } from "../../../src/protocol/codec.js";
import { DATAGRAM_BYTES_MAX, INPUT_CHARS_MAX, ROUNDS_MAX } from "../../../src/protocol/limits.js";
import { PACKET_TYPES, Packet } from "../../../src/protocol/packet.js";
import { loadGolden } from "./golden.js";

const utf8 = new TextEncoder();

const golden = loadGolden();

/** A copy of the golden packet of `type`, for mutating into a bad one. */
function goldenPacket(type: string): Record<string, unknown> {
  const vector = golden.get(type);
  if (vector === undefined) throw new Error(`no golden vector for ${type}`);
  return structuredClone(vector.packet);
}

function bytesOf(value: unknown): Uint8Array {
  return utf8.encode(JSON.stringify(value));
}

/** The golden `type` packet with `changes` applied (an `undefined` value deletes the field). */
function mutated(type: string, changes: Record<string, unknown>): Uint8Array {
  const packet = goldenPacket(type);
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete packet[key];
    else packet[key] = value;
  }
  return bytesOf(packet);
}

function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((part) => Array.from(part)));
}

/** Valid JSON for a golden packet, padded with trailing spaces to exactly `size` bytes. */
function paddedTo(size: number): Uint8Array {
  const bytes = utf8.encode(golden.get("task.ack")?.wire ?? "");
  const padded = new Uint8Array(size).fill(0x20);
  padded.set(bytes);
  return padded;
}

describe("golden vectors", () => {
  it("cover every packet type in PACKET_TYPES, each with a main vector named after it", () => {
    const covered = new Set([...golden.values()].map((vector) => vector.type));
    expect([...PACKET_TYPES].filter((type) => !covered.has(type))).toEqual([]);
    for (const type of PACKET_TYPES) expect(golden.get(type)?.type, `test/golden/${type}.json`).toBe(type);
    for (const type of covered) expect(PACKET_TYPES.has(type)).toBe(true);
    expect(PACKET_TYPES.size).toBe(Packet.options.length);
  });

  it.each([...golden].map(([name, vector]) => [name, vector] as const))(
    "%s decodes to the exact packet and re-encodes byte for byte",
    (_type, vector) => {
      const wire = utf8.encode(vector.wire);
      expect(wire.byteLength).toBe(vector.wireBytes);
      expect(decodePacket(wire)).toStrictEqual({ ok: true, packet: vector.packet });
      expect(Array.from(encodePacket(vector.packet as Packet))).toEqual(Array.from(wire));
    },
  );

  it("accept a datagram of exactly DATAGRAM_BYTES_MAX bytes (trailing JSON whitespace)", () => {
    const result = decodePacket(paddedTo(DATAGRAM_BYTES_MAX));
    expect(result.ok).toBe(true);
  });

  it("accept the boundary values: 256-char input, rounds 1 and 1 000 000, no priority", () => {
    for (const changes of [
      { input: "x".repeat(INPUT_CHARS_MAX) },
      { input: "" },
      { rounds: 1 },
      { rounds: ROUNDS_MAX },
      { priority: undefined },
    ]) {
      const result = decodePacket(mutated("task.submit", changes));
      expect(result.ok, JSON.stringify(changes)).toBe(true);
    }
  });

  it("decode a reordered or whitespace-laden datagram to the same packet, encoded canonically", () => {
    const vector = golden.get("task.done");
    if (vector === undefined) throw new Error("no task.done vector");
    const reordered = Object.fromEntries(Object.entries(vector.packet).reverse());
    const result = decodePacket(utf8.encode(JSON.stringify(reordered, null, 2)));
    expect(result).toStrictEqual({ ok: true, packet: vector.packet });
    if (result.ok) expect(new TextDecoder().decode(encodePacket(result.packet))).toBe(vector.wire);
  });
});

interface NegativeCase {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly code: DecodeErrorCode;
  /** For `invalid`: a field the detail must name, so operators can see what was wrong. */
  readonly field?: string;
}

const UPPERCASE_RESULT = "4CC8AB4806DD3AD81F35DB3517D36015CBA552625B4430D1434CB4E2A8393245";

const negativeCases: NegativeCase[] = [
  {
    name: "oversized (DATAGRAM_BYTES_MAX + 1, otherwise valid)",
    bytes: paddedTo(DATAGRAM_BYTES_MAX + 1),
    code: "too_large",
  },
  { name: "oversized (64 KiB of garbage)", bytes: new Uint8Array(65_507).fill(0x7b), code: "too_large" },
  { name: "empty", bytes: new Uint8Array(0), code: "not_json" },
  { name: "whitespace only", bytes: utf8.encode("  \n"), code: "not_json" },
  { name: "truncated JSON", bytes: utf8.encode(golden.get("task.submit")?.wire.slice(0, -9) ?? ""), code: "not_json" },
  { name: "not JSON", bytes: utf8.encode("hello, dispatcher"), code: "not_json" },
  { name: "two JSON objects", bytes: utf8.encode('{"v":1}{"v":1}'), code: "not_json" },
  {
    name: "invalid UTF-8 (0xff inside a string)",
    bytes: concat(utf8.encode('{"v":1,"from":"calc-'), [0xff], utf8.encode('","type":"task.ack"}')),
    code: "not_json",
  },
  {
    name: "invalid UTF-8 (encoded surrogate)",
    bytes: concat(utf8.encode('{"input":"'), [0xed, 0xa0, 0x80], utf8.encode('"}')),
    code: "not_json",
  },
  {
    name: "invalid UTF-8 (overlong NUL)",
    bytes: concat(utf8.encode('{"a":"'), [0xc0, 0x80], utf8.encode('"}')),
    code: "not_json",
  },
  { name: "JSON array", bytes: bytesOf([goldenPacket("task.ack")]), code: "not_object" },
  { name: "JSON number", bytes: utf8.encode("42"), code: "not_object" },
  { name: "JSON null", bytes: utf8.encode("null"), code: "not_object" },
  { name: "JSON string", bytes: utf8.encode('"task.ack"'), code: "not_object" },
  { name: "JSON boolean", bytes: utf8.encode("true"), code: "not_object" },
  { name: "future v", bytes: mutated("task.ack", { v: 2 }), code: "wrong_version" },
  { name: "v as a string", bytes: mutated("task.ack", { v: "1" }), code: "wrong_version" },
  { name: "missing v", bytes: mutated("task.ack", { v: undefined }), code: "wrong_version" },
  { name: "empty object", bytes: utf8.encode("{}"), code: "wrong_version" },
  { name: "unknown type", bytes: mutated("task.ack", { type: "task.explode" }), code: "unknown_type" },
  { name: "type in another case", bytes: mutated("task.ack", { type: "TASK.ACK" }), code: "unknown_type" },
  { name: "missing type", bytes: mutated("task.ack", { type: undefined }), code: "unknown_type" },
  { name: "type not a string", bytes: mutated("task.ack", { type: 7 }), code: "unknown_type" },
  {
    name: "type inherited from Object.prototype",
    bytes: mutated("task.ack", { type: "toString" }),
    code: "unknown_type",
  },
  { name: "extra field", bytes: mutated("task.ack", { extra: true }), code: "invalid", field: "extra" },
  { name: "extra __proto__ field", bytes: utf8.encode('{"v":1,"type":"task.ack","__proto__":{}}'), code: "invalid" },
  {
    name: "missing field (taskId)",
    bytes: mutated("task.ack", { taskId: undefined }),
    code: "invalid",
    field: "taskId",
  },
  { name: "missing field (from)", bytes: mutated("task.result", { from: undefined }), code: "invalid", field: "from" },
  { name: "rounds as a string", bytes: mutated("task.submit", { rounds: "3" }), code: "invalid", field: "rounds" },
  { name: "rounds fractional", bytes: mutated("task.submit", { rounds: 2.5 }), code: "invalid", field: "rounds" },
  { name: "input as a number", bytes: mutated("task.submit", { input: 12 }), code: "invalid", field: "input" },
  { name: "attempt 0", bytes: mutated("task.assign", { attempt: 0 }), code: "invalid", field: "attempt" },
  { name: "ack state unknown", bytes: mutated("task.ack", { state: "done" }), code: "invalid", field: "state" },
  {
    name: "heartbeat capacity 0",
    bytes: mutated("calc.heartbeat", { capacity: 0 }),
    code: "invalid",
    field: "capacity",
  },
  { name: "heartbeat seq negative", bytes: mutated("calc.heartbeat", { seq: -1 }), code: "invalid", field: "seq" },
  { name: "priority 10", bytes: mutated("task.submit", { priority: 10 }), code: "invalid", field: "priority" },
  { name: "priority null", bytes: mutated("task.submit", { priority: null }), code: "invalid", field: "priority" },
  { name: "from empty", bytes: mutated("task.ack", { from: "" }), code: "invalid", field: "from" },
  { name: "from with a space", bytes: mutated("task.ack", { from: "calc 1" }), code: "invalid", field: "from" },
  { name: "from 65 chars", bytes: mutated("task.ack", { from: "c".repeat(65) }), code: "invalid", field: "from" },
  {
    name: "input longer than 256 chars",
    bytes: mutated("task.submit", { input: "x".repeat(INPUT_CHARS_MAX + 1) }),
    code: "invalid",
    field: "input",
  },
  { name: "rounds 0", bytes: mutated("task.submit", { rounds: 0 }), code: "invalid", field: "rounds" },
  {
    name: "rounds 1 000 001",
    bytes: mutated("task.assign", { rounds: ROUNDS_MAX + 1 }),
    code: "invalid",
    field: "rounds",
  },
  { name: "non-uuid taskId", bytes: mutated("task.submit", { taskId: "task-1" }), code: "invalid", field: "taskId" },
  {
    name: "uuid without dashes",
    bytes: mutated("task.ack", { taskId: "3f2a1c9e5b7d4e8f9a0b1c2d3e4f5a6b" }),
    code: "invalid",
    field: "taskId",
  },
  {
    name: "uppercase hex result",
    bytes: mutated("task.done", { result: UPPERCASE_RESULT }),
    code: "invalid",
    field: "result",
  },
  {
    name: "result 63 hex chars",
    bytes: mutated("task.result", { result: "a".repeat(63) }),
    code: "invalid",
    field: "result",
  },
  {
    name: "reason not snake_case",
    bytes: mutated("task.failed", { reason: "Over loaded" }),
    code: "invalid",
    field: "reason",
  },
];

describe("decodePacket rejects bad datagrams with the right code", () => {
  it.each(negativeCases.map((testCase) => [testCase.name, testCase] as const))("%s", (_name, testCase) => {
    let result: ReturnType<typeof decodePacket> | undefined;
    expect(() => {
      result = decodePacket(testCase.bytes);
    }).not.toThrow();
    expect(result?.ok).toBe(false);
    if (result === undefined || result.ok) return;
    expect(result.error.code).toBe(testCase.code);
    expect(DECODE_ERROR_CODES).toContain(result.error.code);
    if (result.error.code === "too_large") expect(result.error.bytes).toBe(testCase.bytes.byteLength);
    if (result.error.code === "invalid") {
      expect(result.error.detail.length).toBeGreaterThan(0);
      if (testCase.field !== undefined) expect(result.error.detail).toContain(testCase.field);
    }
  });

  it("decodes a view into a larger buffer by its own bytes only", () => {
    const wire = utf8.encode(golden.get("task.ack")?.wire ?? "");
    const backing = concat(utf8.encode("garbage"), wire, utf8.encode("trailing"));
    const view = backing.subarray(7, 7 + wire.byteLength);
    expect(decodePacket(view)).toStrictEqual({ ok: true, packet: golden.get("task.ack")?.packet });
  });
});

describe("decodePacket never throws", () => {
  const assertWellFormed = (bytes: Uint8Array): void => {
    const result = decodePacket(bytes);
    if (result.ok) {
      // Anything accepted must be a packet we could have sent ourselves.
      expect(() => encodePacket(result.packet)).not.toThrow();
    } else {
      expect(DECODE_ERROR_CODES).toContain(result.error.code);
    }
  };

  it("on arbitrary bytes", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2_048 }), assertWellFormed), { numRuns: 500 });
  });

  it("on arbitrary JSON values", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => assertWellFormed(bytesOf(value))),
      { numRuns: 500 },
    );
  });

  it("on a golden packet with one field replaced by an arbitrary JSON value", () => {
    const mutation = fc
      .constantFrom(...golden.keys())
      .chain((type) =>
        fc.tuple(
          fc.constant(type),
          fc.oneof(fc.constantFrom(...Object.keys(goldenPacket(type))), fc.string({ maxLength: 12 })),
          fc.jsonValue(),
        ),
      );
    fc.assert(
      fc.property(mutation, ([type, field, value]) => {
        assertWellFormed(bytesOf({ ...goldenPacket(type), [field]: value }));
      }),
      { numRuns: 500 },
    );
  });
});

/** One UTF-16 code unit (fast-check's "binary" unit is an order of magnitude slower to generate). */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));

describe("encodePacket", () => {
  it("round-trips arbitrary valid submits, including non-ASCII and lone surrogates", () => {
    const submit = fc.record(
      {
        // Any UTF-16 code unit: control characters, quotes, non-ASCII and lone surrogates.
        input: fc.string({ unit: codeUnit, maxLength: INPUT_CHARS_MAX }),
        rounds: fc.integer({ min: 1, max: ROUNDS_MAX }),
        priority: fc.integer({ min: 0, max: 9 }),
      },
      { requiredKeys: ["input", "rounds"] },
    );
    fc.assert(
      fc.property(submit, (fields) => {
        const { priority: _goldenPriority, ...base } = goldenPacket("task.submit");
        const packet = { ...base, ...fields };
        const bytes = encodePacket(packet as Packet);
        expect(bytes.byteLength).toBeLessThanOrEqual(DATAGRAM_BYTES_MAX);
        expect(decodePacket(bytes)).toStrictEqual({ ok: true, packet });
      }),
      { numRuns: 300 },
    );
  });

  it.each([
    ["rounds 0", { ...goldenPacket("task.submit"), rounds: 0 }],
    ["an extra field", { ...goldenPacket("task.ack"), extra: 1 }],
    ["a missing field", { ...goldenPacket("task.result"), attempts: undefined }],
    ["an unknown type", { ...goldenPacket("task.ack"), type: "task.explode" }],
    ["a future version", { ...goldenPacket("task.ack"), v: 2 }],
    ["an uppercase result", { ...goldenPacket("task.done"), result: UPPERCASE_RESULT }],
  ])("throws on an invalid packet: %s", (_name, packet) => {
    expect(() => encodePacket(packet as unknown as Packet)).toThrow();
  });
});
