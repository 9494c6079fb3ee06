/**
 * Goal: the `batch` frame is a faithful container. Packing keeps every packet, in order, within
 * DATAGRAM_BYTES_MAX and BATCH_PACKETS_MAX, and never frames a lone packet; decodeDatagram returns
 * the packets of any frame or bare packet, rejects a malformed frame as one `bad_batch`, rejects a
 * bad inner packet by its own code while still delivering the others, and never throws.
 * Method: the golden frame in test/golden/batch/ (decoded and reproduced byte for byte), boundary
 * cases built by hand, and fast-check properties over random task packets and arbitrary JSON.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { Batch, packDatagrams } from "../../../src/protocol/batch.js";
import { decodeDatagram, decodePacket, encodePacketText } from "../../../src/protocol/codec.js";
import { BATCH_PACKETS_MAX, DATAGRAM_BYTES_MAX, INPUT_CHARS_MAX } from "../../../src/protocol/limits.js";
import type { Packet } from "../../../src/protocol/packet.js";

interface BatchVector {
  readonly description: string;
  readonly wireBytes: number;
  readonly wire: string;
  readonly packets: Packet[];
}

const golden = JSON.parse(
  readFileSync(fileURLToPath(new URL("../../golden/batch/batch.json", import.meta.url)), "utf8"),
) as BatchVector;
const utf8 = new TextEncoder();
const textOf = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

function frame(from: string, packets: unknown[], extra: Record<string, unknown> = {}): Uint8Array {
  return utf8.encode(JSON.stringify({ v: 1, from, type: "batch", packets, ...extra }));
}

function ack(from: string, seq: number): Packet {
  return { v: 1, from, type: "overlay.ack", seqs: [seq] };
}

const taskPacket = fc.record({
  taskId: fc.uuid({ version: 4 }),
  input: fc.string({ maxLength: INPUT_CHARS_MAX, unit: "binary" }),
  rounds: fc.integer({ min: 1, max: 1_000_000 }),
});

describe("golden batch frame", () => {
  it("decodes to its packets and is what packDatagrams produces, byte for byte", () => {
    expect(utf8.encode(golden.wire).byteLength).toBe(golden.wireBytes);
    expect(decodeDatagram(utf8.encode(golden.wire))).toEqual({ packets: golden.packets, errors: [] });
    const packed = packDatagrams("dispatcher", golden.packets.map(encodePacketText));
    expect(packed.map((datagram) => textOf(datagram.bytes))).toEqual([golden.wire]);
    expect(Batch.safeParse(JSON.parse(golden.wire)).success).toBe(true);
  });

  it("is not a packet: decodePacket, which reads bare packets only, calls it unknown_type", () => {
    expect(decodePacket(utf8.encode(golden.wire))).toEqual({ ok: false, error: { code: "unknown_type" } });
  });
});

describe("packDatagrams", () => {
  it("sends a lone packet bare, exactly as encodePacket would", () => {
    const [only] = golden.packets;
    const packed = packDatagrams("dispatcher", [encodePacketText(only as Packet)]);
    expect(packed).toHaveLength(1);
    expect(textOf(packed[0]?.bytes ?? new Uint8Array())).toBe(encodePacketText(only as Packet));
  });

  it("splits by BATCH_PACKETS_MAX when the packets are tiny", () => {
    const packets = Array.from({ length: BATCH_PACKETS_MAX + 44 }, (_, i) => ack("b", i + 1));
    const packed = packDatagrams("b", packets.map(encodePacketText));
    expect(packed.map((datagram) => datagram.packetCount)).toEqual([BATCH_PACKETS_MAX, 44]);
    const decoded = packed.flatMap((datagram) => decodeDatagram(datagram.bytes).packets);
    expect(decoded).toEqual(packets);
  });

  it("keeps every packet, in order, within the byte and count limits (property)", () => {
    fc.assert(
      fc.property(fc.array(taskPacket, { minLength: 1, maxLength: 400 }), (tasks) => {
        const packets: Packet[] = tasks.map((task) => ({ v: 1, from: "client-1", type: "task.submit", ...task }));
        const packed = packDatagrams("client-1", packets.map(encodePacketText));
        for (const datagram of packed) {
          expect(datagram.bytes.byteLength).toBeLessThanOrEqual(DATAGRAM_BYTES_MAX);
          expect(datagram.packetCount).toBeLessThanOrEqual(BATCH_PACKETS_MAX);
        }
        const decoded = packed.map((datagram) => decodeDatagram(datagram.bytes));
        expect(decoded.flatMap((contents) => contents.errors)).toEqual([]);
        expect(decoded.flatMap((contents) => contents.packets)).toEqual(packets);
        // Greedy: the first packet of each datagram would not have fitted into the one before it.
        for (let i = 1; i < decoded.length; i += 1) {
          const previous = (decoded[i - 1]?.packets ?? []).map(encodePacketText);
          const next = encodePacketText(decoded[i]?.packets[0] as Packet);
          const merged = packDatagrams("client-1", [...previous, next]);
          expect(merged.length).toBe(2);
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe("decodeDatagram", () => {
  const [result, failed] = golden.packets as [Packet, Packet];

  it("reads a bare packet like decodePacket", () => {
    expect(decodeDatagram(utf8.encode(encodePacketText(result)))).toEqual({ packets: [result], errors: [] });
    expect(decodeDatagram(utf8.encode("nope")).errors.map((error) => error.code)).toEqual(["not_json"]);
  });

  it.each([
    ["no packets", frame("dispatcher", [])],
    [
      "more than BATCH_PACKETS_MAX packets",
      frame(
        "dispatcher",
        Array.from({ length: BATCH_PACKETS_MAX + 1 }, () => 1),
      ),
    ],
    ["an extra field", frame("dispatcher", [result], { seq: 1 })],
    ["a bad from", frame("dis patcher", [result])],
    ["packets not an array", frame("dispatcher", {} as unknown as unknown[])],
  ])("rejects a frame with %s as one bad_batch and delivers nothing", (_name, bytes) => {
    const contents = decodeDatagram(bytes);
    expect(contents.packets).toEqual([]);
    expect(contents.errors.map((error) => error.code)).toEqual(["bad_batch"]);
  });

  it("rejects a frame of another version as wrong_version", () => {
    const bytes = utf8.encode(JSON.stringify({ v: 2, from: "dispatcher", type: "batch", packets: [result] }));
    expect(decodeDatagram(bytes).errors.map((error) => error.code)).toEqual(["wrong_version"]);
  });

  it("rejects each bad inner packet by its own code and still delivers the good ones, in order", () => {
    const nested = JSON.parse(golden.wire) as unknown;
    const bytes = frame("dispatcher", [
      result,
      { ...failed, reason: "Not A Code" },
      "a string",
      { ...result, v: 2 },
      { ...result, type: "task.nope" },
      nested,
      { ...failed, from: "calc-1" },
      failed,
    ]);
    const contents = decodeDatagram(bytes);
    expect(contents.packets).toEqual([result, failed]);
    expect(contents.errors.map((error) => error.code)).toEqual([
      "invalid",
      "not_object",
      "wrong_version",
      "unknown_type",
      "unknown_type",
      "invalid",
    ]);
  });

  it("rejects an oversized frame before parsing it", () => {
    const big = utf8.encode(`${golden.wire}${" ".repeat(DATAGRAM_BYTES_MAX)}`);
    expect(decodeDatagram(big).errors).toEqual([{ code: "too_large", bytes: big.byteLength }]);
  });

  it("never throws on arbitrary JSON inside a frame, and keeps only valid packets (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.jsonValue(), fc.constant(result as unknown)), { maxLength: 20 }), (items) => {
        const bytes = frame("dispatcher", items);
        const contents = decodeDatagram(bytes);
        for (const packet of contents.packets) expect(packet).toEqual(result);
        const isWholeFrameRejected = items.length === 0 || bytes.byteLength > DATAGRAM_BYTES_MAX;
        const expected = isWholeFrameRejected ? 1 : items.length;
        expect(contents.packets.length + contents.errors.length).toBe(expected);
      }),
      { numRuns: 200 },
    );
  });
});
