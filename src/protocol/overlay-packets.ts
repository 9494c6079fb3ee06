/**
 * The overlay plane of the wire protocol (SPEC.md section 7, docs/OVERLAY.md): echo and Finn wave
 * messages, the per-link acknowledgement and the task-move handshake. One zod schema per packet, all
 * registered in the shared `wire` registry so net-protocol/ is generated from them. Every reliable
 * overlay packet carries a per-sender `seq`, acknowledged by `overlay.ack`. Pure: no I/O.
 */
import * as z from "zod";

import { CAPACITY_MAX, INPUT_CHARS_MAX, PROTOCOL_VERSION, ROUNDS_MAX } from "./limits.js";
import { NodeId, TaskId, wire } from "./packets.js";

/**
 * Node entries per `wave.echo` datagram. Worst case per entry: an id of NODE_ID_CHARS_MAX characters
 * (66 bytes quoted) plus three integers and commas (about 25 bytes), so 150 entries stay under 14 KB,
 * inside DATAGRAM_BYTES_MAX (16 384 bytes). Bigger subtree reports are split into parts.
 */
export const ECHO_ENTRIES_PER_PART_MAX = 150;

/** Sequence numbers one `overlay.ack` may carry: 512 × at most 17 bytes stays under 9 KB. */
export const ACK_SEQS_MAX = 512;

/** Parts of one echo report at most: 150 × 1 000 = 150 000 nodes, above OVERLAY_NODES_MAX. */
export const ECHO_PARTS_MAX = 1_000;

/** Nodes in one overlay at most (topology files, echo reports); the 10 000-node sim fits with room. */
export const OVERLAY_NODES_MAX = 100_000;

/** Queued tasks per node that a report may announce (bounds the planner's arithmetic). */
export const NODE_QUEUED_MAX = 1_000_000;

/**
 * Tasks per `overlay.move` offer. Worst case per task: a 36-char id, an input of INPUT_CHARS_MAX
 * characters that JSON may escape to 6 bytes each (1 536 bytes), and `rounds`: about 1.6 KB, so
 * 8 tasks stay under 13 KB, inside DATAGRAM_BYTES_MAX.
 */
export const MOVE_TASKS_MAX = 8;

/** Largest wave id, round number or sequence number: safe integers only. */
const COUNTER_MAX = Number.MAX_SAFE_INTEGER;

/**
 * An incarnation: the sender's boot (a daemon's boot time in ms), so packets of a node's earlier life
 * are told apart from its current one. 0 means "not known" (only ever in `toBoot`).
 */
const Incarnation = z.int().min(0).max(COUNTER_MAX);

/**
 * `boot` is the sender's incarnation and `toBoot` the receiver's as the sender last heard it (0: not
 * heard yet). A receiver drops a packet meant for an earlier life of its own (`toBoot` set and not its
 * boot) or sent by an earlier life of the sender (`boot` below the sender's latest). Optional on the
 * wire for compatibility; every overlay link stamps both.
 */
const envelope = {
  v: z.literal(PROTOCOL_VERSION),
  from: NodeId,
  boot: Incarnation.optional(),
  toBoot: Incarnation.optional(),
};
const seq = z.int().min(0).max(COUNTER_MAX);
const count = z.int().min(0).max(COUNTER_MAX);

export const WaveId = z.int().min(0).max(COUNTER_MAX).register(wire, {
  id: "WaveId",
  description: "Chosen by the root, increasing per wave; messages of different waves never mix.",
});

export const WaveExplore = z
  .strictObject({ ...envelope, type: z.literal("wave.explore"), seq, waveId: WaveId })
  .register(wire, {
    id: "WaveExplore",
    description: "Echo wave, parent -> child: forward the wave down the tree. Acked by overlay.ack.",
  });

export const WaveEcho = z
  .strictObject({
    ...envelope,
    type: z.literal("wave.echo"),
    seq,
    waveId: WaveId,
    part: z
      .int()
      .min(0)
      .max(ECHO_PARTS_MAX - 1),
    parts: z.int().min(1).max(ECHO_PARTS_MAX),
    nodeCount: z.int().min(1).max(OVERLAY_NODES_MAX),
    slotsSum: count,
    queuedSum: count,
    ids: z.array(NodeId).max(ECHO_ENTRIES_PER_PART_MAX),
    parentGaps: z.array(z.int().min(0).max(OVERLAY_NODES_MAX)).max(ECHO_ENTRIES_PER_PART_MAX),
    slots: z.array(z.int().min(1).max(CAPACITY_MAX)).max(ECHO_ENTRIES_PER_PART_MAX),
    queued: z.array(z.int().min(0).max(NODE_QUEUED_MAX)).max(ECHO_ENTRIES_PER_PART_MAX),
  })
  .register(wire, {
    id: "WaveEcho",
    description:
      "Echo wave, child -> parent: the child's whole subtree in preorder, as parallel arrays (ids, " +
      "parentGaps, slots, queued) split over `parts` datagrams, with the aggregates in every part. " +
      "Entry k's parent is entry k - parentGaps[k] of the whole report; a gap of 0 (only the first " +
      "entry, the sender) means the addressee. The parent answers its own parent once every child's parts arrived.",
  });

export const WaveFinn = z
  .strictObject({
    ...envelope,
    type: z.literal("wave.finn"),
    seq,
    waveId: WaveId,
    itemsTotal: count,
    slotsTotal: z.int().min(1).max(COUNTER_MAX),
    /** The spread batch this wave carries (daemons; absent in run-overlay-sim). */
    batchId: z.uuid().optional(),
  })
  .register(wire, {
    id: "WaveFinn",
    description:
      "Finn wave, parent -> child over the DAG: a batch of itemsTotal work items. A node takes " +
      "floor(itemsTotal × slots / slotsTotal) once it has heard from all its parents, then forwards.",
  });

export const WaveFinnDone = z
  .strictObject({
    ...envelope,
    type: z.literal("wave.finn.done"),
    seq,
    waveId: WaveId,
    actedCount: z.int().min(1).max(OVERLAY_NODES_MAX),
    takenCount: count,
    /** Finn messages (wave.finn and wave.finn.done) the child's primary subtree sent, this one included. */
    sentCount: count.optional(),
  })
  .register(wire, {
    id: "WaveFinnDone",
    description:
      "Finn completion, child -> primary parent: every node of the child's primary subtree has acted, " +
      "having taken takenCount items in all. The root learns completion when all its children reported.",
  });

export const OverlayAck = z
  .strictObject({
    ...envelope,
    type: z.literal("overlay.ack"),
    seqs: z.array(seq).max(ACK_SEQS_MAX),
    retrySeqs: z.array(seq).max(ACK_SEQS_MAX).optional(),
  })
  .register(wire, {
    id: "OverlayAck",
    description:
      "Link layer: receipt of the overlay packets with these `seq`s from the ack's addressee, batched " +
      "per peer once per tick (delayed ack). Never acked itself. retrySeqs: packets received but not " +
      "taken because they named no incarnation (toBoot 0); the sender stamps the ack's boot on them and " +
      "resends at once, so a packet is only ever taken by the one incarnation it names.",
  });

const moveKey = { round: count, index: count };

export const MovedTask = z
  .strictObject({ taskId: TaskId, input: z.string().max(INPUT_CHARS_MAX), rounds: z.int().min(1).max(ROUNDS_MAX) })
  .register(wire, { id: "MovedTask", description: "A queued task handed from one calculator to another." });

export const OverlayMoveOrder = z
  .strictObject({
    ...envelope,
    type: z.literal("overlay.move.order"),
    seq,
    ...moveKey,
    to: NodeId,
    count: z.int().min(1).max(MOVE_TASKS_MAX),
  })
  .register(wire, {
    id: "OverlayMoveOrder",
    description: "Root -> giver: offer up to `count` QUEUED tasks to `to`. (round, index) names the move.",
  });

export const OverlayMove = z
  .strictObject({
    ...envelope,
    type: z.literal("overlay.move"),
    seq,
    ...moveKey,
    tasks: z.array(MovedTask).min(1).max(MOVE_TASKS_MAX),
  })
  .register(wire, {
    id: "OverlayMove",
    description:
      "Giver -> receiver: the offered tasks. The giver keeps them reserved (never runs them) until the reply.",
  });

export const OverlayMoveReply = z
  .strictObject({
    ...envelope,
    type: z.literal("overlay.move.reply"),
    seq,
    ...moveKey,
    accepted: z.array(TaskId).max(MOVE_TASKS_MAX),
    refused: z.array(TaskId).max(MOVE_TASKS_MAX),
  })
  .register(wire, {
    id: "OverlayMoveReply",
    description:
      "Receiver -> giver: accepted tasks now belong to the receiver; refused ones go back to the giver's queue.",
  });

export const OverlayMoveReport = z
  .strictObject({
    ...envelope,
    type: z.literal("overlay.move.report"),
    seq,
    ...moveKey,
    to: NodeId,
    movedTaskIds: z.array(TaskId).max(MOVE_TASKS_MAX),
    unmovedCount: z.int().min(0).max(MOVE_TASKS_MAX),
  })
  .register(wire, {
    id: "OverlayMoveReport",
    description:
      "Giver -> root: the outcome of one order (the dispatcher learns each new holder from task.ack moved). " +
      "unmovedCount tasks of the order were not moved (started or finished meanwhile, or refused).",
  });

/** Every packet type of the overlay plane. */
export const overlayPackets = [
  WaveExplore,
  WaveEcho,
  WaveFinn,
  WaveFinnDone,
  OverlayAck,
  OverlayMoveOrder,
  OverlayMove,
  OverlayMoveReply,
  OverlayMoveReport,
] as const;

export type WaveId = z.infer<typeof WaveId>;
export type WaveExplore = z.infer<typeof WaveExplore>;
export type WaveEcho = z.infer<typeof WaveEcho>;
export type WaveFinn = z.infer<typeof WaveFinn>;
export type WaveFinnDone = z.infer<typeof WaveFinnDone>;
export type OverlayAck = z.infer<typeof OverlayAck>;
export type MovedTask = z.infer<typeof MovedTask>;
export type OverlayMoveOrder = z.infer<typeof OverlayMoveOrder>;
export type OverlayMove = z.infer<typeof OverlayMove>;
export type OverlayMoveReply = z.infer<typeof OverlayMoveReply>;
export type OverlayMoveReport = z.infer<typeof OverlayMoveReport>;
/** Any overlay packet. */
export type OverlayPacket = z.infer<(typeof overlayPackets)[number]>;
