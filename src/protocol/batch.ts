/**
 * The `batch` frame: several packets for one peer in one datagram. A daemon that produces more than
 * one packet for the same peer within one event-loop turn (a burst of results, a burst of assigns)
 * sends them as one `{"v":1,"from":…,"type":"batch","packets":[…]}` instead of one datagram each:
 * every datagram costs a system call on both sides and often a wake-up of the receiver, which is most
 * of the CPU a task costs under load. A frame is still one JSON object per datagram (SPEC section 6),
 * each inner packet is a complete packet validated on its own, and a single packet is never framed,
 * so a lone packet looks exactly as before.
 */
import * as z from "zod";

import { BATCH_PACKETS_MAX, DATAGRAM_BYTES_MAX, PROTOCOL_VERSION } from "./limits.js";
import { Packet } from "./packet.js";
import { NodeId, wire } from "./packets.js";

/** The frame's wire shape (net-protocol/Batch.schema.json). Not a member of the `Packet` union. */
export const Batch = z
  .strictObject({
    v: z.literal(PROTOCOL_VERSION),
    from: NodeId,
    type: z.literal("batch"),
    packets: z.array(Packet).min(1).max(BATCH_PACKETS_MAX),
  })
  .register(wire, {
    id: "Batch",
    description:
      "Several packets for one peer in one datagram, in the order they were produced. Every inner packet " +
      "is complete (its own v, from and type), has the frame's `from`, and is never itself a batch.",
  });

export type Batch = z.infer<typeof Batch>;

/** The frame without its packets: what decode checks before looking at each packet. */
export const BatchFrame = Batch.extend({ packets: z.array(z.unknown()).min(1).max(BATCH_PACKETS_MAX) });

/** UTF-8 bytes of the frame around the packets (`{"v":1,…,"packets":[` and `]}`). */
function frameHead(from: string): string {
  return `{"v":${PROTOCOL_VERSION},"from":${JSON.stringify(from)},"type":"batch","packets":[`;
}
const FRAME_TAIL = "]}";

/** A run of encoded packets that fit one datagram. */
interface Group {
  readonly texts: string[];
  bytes: number;
}

/** One datagram of {@link packDatagrams}: a bare packet (packetCount 1) or a batch frame. */
export interface PackedDatagram {
  readonly bytes: Uint8Array;
  readonly packetCount: number;
}

/**
 * Packs already encoded packets (JSON texts, each a valid packet from `from`) into datagrams of at
 * most DATAGRAM_BYTES_MAX bytes and BATCH_PACKETS_MAX packets, keeping their order. A group of one is
 * sent as the bare packet. A packet too large to share a frame still goes alone (each packet fits
 * DATAGRAM_BYTES_MAX by itself; encodePacket checks that).
 */
export function packDatagrams(from: string, texts: readonly string[]): PackedDatagram[] {
  if (texts.length === 1) return [{ packetCount: 1, bytes: Buffer.from(texts[0] as string, "utf8") }];
  const head = frameHead(from);
  const overheadBytes = Buffer.byteLength(head, "utf8") + FRAME_TAIL.length;
  const groups: Group[] = [];
  let current: Group = { texts: [], bytes: overheadBytes };
  for (const text of texts) {
    const textBytes = Buffer.byteLength(text, "utf8");
    const addedBytes = textBytes + (current.texts.length > 0 ? 1 : 0);
    const isFull = current.texts.length >= BATCH_PACKETS_MAX || current.bytes + addedBytes > DATAGRAM_BYTES_MAX;
    if (current.texts.length > 0 && isFull) {
      groups.push(current);
      current = { texts: [], bytes: overheadBytes };
    }
    current.bytes += textBytes + (current.texts.length > 0 ? 1 : 0);
    current.texts.push(text);
  }
  if (current.texts.length > 0) groups.push(current);
  return groups.map((group) => ({
    packetCount: group.texts.length,
    bytes:
      group.texts.length === 1
        ? Buffer.from(group.texts[0] as string, "utf8")
        : Buffer.from(`${head}${group.texts.join(",")}${FRAME_TAIL}`, "utf8"),
  }));
}
