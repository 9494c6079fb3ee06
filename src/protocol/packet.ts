/**
 * The union of every packet on the wire, discriminated by `type`. A new packet is added here and in
 * its plane's file (packets.ts for tasks, overlay-packets.ts for waves); `type` strings are append-only.
 */
import * as z from "zod";

import { overlayPackets } from "./overlay-packets.js";
import {
  AdminRebalance,
  AdminRebalanceResult,
  AdminStatus,
  AdminStatusResult,
  CalcHeartbeat,
  TaskAck,
  TaskAssign,
  TaskCancel,
  TaskDone,
  TaskFailed,
  TaskQuery,
  TaskResult,
  TaskSubmit,
  TaskUnknown,
  wire,
} from "./packets.js";
import { spreadPackets } from "./spread-packets.js";

export const Packet = z
  .discriminatedUnion("type", [
    TaskSubmit,
    TaskAck,
    TaskAssign,
    TaskDone,
    TaskResult,
    TaskFailed,
    CalcHeartbeat,
    ...overlayPackets,
    AdminRebalance,
    AdminRebalanceResult,
    TaskCancel,
    TaskQuery,
    TaskUnknown,
    AdminStatus,
    AdminStatusResult,
    ...spreadPackets,
  ])
  .register(wire, { id: "Packet", description: "Any datagram of udp-cluster." });

export type Packet = z.infer<typeof Packet>;
export type PacketType = Packet["type"];

/** Every `type` string the decoder knows, for telling `unknown_type` from a malformed packet. */
export const PACKET_TYPES: ReadonlySet<string> = new Set(Packet.options.map((option) => option.shape.type.value));
