/**
 * The wire protocol: one zod schema per packet type, and nothing else defines a packet. Types are
 * inferred from these schemas and net-protocol/*.schema.json is generated from them, so the three
 * cannot drift. `type` strings are append-only: never reuse or rename one. See docs/PROTOCOL.md.
 */
import * as z from "zod";

import {
  CAPACITY_MAX,
  DATAGRAM_BYTES_MAX,
  DEADLINE_MS_MAX,
  INPUT_CHARS_MAX,
  NODE_ID_CHARS_MAX,
  PROTOCOL_VERSION,
  REASON_CHARS_MAX,
  RESULT_HEX_CHARS,
  ROUNDS_MAX,
} from "./limits.js";

/** Project-owned registry: the source of net-protocol/ (zod's global one breaks under test reloads). */
export const wire = z.registry<{ id: string; description: string }>();

export const NodeId = z
  .string()
  .min(1)
  .max(NODE_ID_CHARS_MAX)
  .regex(/^[A-Za-z0-9._:-]+$/)
  .register(wire, { id: "NodeId", description: "Stable name of a daemon, e.g. calc-1 or client-7f3a." });

export const TaskId = z
  .uuid()
  .register(wire, { id: "TaskId", description: "Chosen by the client (random UUID); unique per task." });

export const Sha256Hex = z
  .string()
  .length(RESULT_HEX_CHARS)
  .regex(/^[0-9a-f]+$/)
  .register(wire, { id: "Sha256Hex", description: "Lowercase hex SHA-256 digest." });

export const FailureReason = z
  .string()
  .min(1)
  .max(REASON_CHARS_MAX)
  .regex(/^[a-z_]+$/)
  .register(wire, {
    id: "FailureReason",
    description: "Why a task failed: timeout, overloaded, cancelled, wrong_result, ... (snake_case code).",
  });

/** Fields every packet carries. Spread into each packet schema, never nested. */
const envelope = { v: z.literal(PROTOCOL_VERSION), from: NodeId };

const rounds = z.int().min(1).max(ROUNDS_MAX);

export const TaskSubmit = z
  .strictObject({
    ...envelope,
    type: z.literal("task.submit"),
    taskId: TaskId,
    input: z.string().max(INPUT_CHARS_MAX),
    rounds,
    priority: z.int().min(0).max(9).optional(),
    /** SPEC 8: bound (ms after arrival) to the final answer; past it the task fails `deadline`. */
    deadlineMs: z.int().min(1).max(DEADLINE_MS_MAX).optional(),
  })
  .register(wire, {
    id: "TaskSubmit",
    description:
      "Client -> dispatcher. Retransmitted until answered; idempotent by taskId. priority 0..9 (higher first, " +
      "FIFO within one); deadlineMs bounds the time from arrival to the final answer (failure `deadline`; the " +
      "dispatcher caps it at its queueTimeoutMs, after which the failure is `timeout`).",
  });

export const TaskAck = z
  .strictObject({
    ...envelope,
    type: z.literal("task.ack"),
    taskId: TaskId,
    state: z.enum(["queued", "running", "busy", "moved", "cancelled"]),
    holder: NodeId.optional(),
    attempt: z.int().min(1).optional(),
    /** An arrival announcement (moved, holder = sender): the node the task came from. */
    giver: NodeId.optional(),
  })
  .register(wire, {
    id: "TaskAck",
    description:
      "Receipt for a submit or assign that is not answered at once (a prompt result is its own ack). " +
      "busy: a calculator refuses an assign because it is full. queued: it holds the task in its local " +
      "queue (overlay mode). moved: the overlay moved the task to `holder`, which now answers for it " +
      "(sent by the old holder to a probe, and by the new holder, naming itself, when the task arrives: " +
      "that arrival announcement names the node the task came from as `giver`; the new holder does not " +
      "start the task until the dispatcher confirms the move with a task.assign, or drops it on a task.cancel). " +
      "cancelled: a calculator's answer to a task.cancel (it dropped or abandoned the copy, or never had it); " +
      "attempt: the cancel's attempt bound, echoed, so a late answer is never taken for a newer copy.",
  });

export const TaskAssign = z
  .strictObject({
    ...envelope,
    type: z.literal("task.assign"),
    taskId: TaskId,
    attempt: z.int().min(1),
    input: z.string().max(INPUT_CHARS_MAX),
    rounds,
    toBoot: z.int().min(0).optional(),
  })
  .register(wire, {
    id: "TaskAssign",
    description:
      "Dispatcher -> calculator. Retransmitted (and used as a probe) until a done arrives. toBoot: the " +
      "calculator incarnation (heartbeat boot) it is meant for; another incarnation drops it unopened.",
  });

export const TaskDone = z
  .strictObject({
    ...envelope,
    type: z.literal("task.done"),
    taskId: TaskId,
    attempt: z.int().min(1),
    result: Sha256Hex,
  })
  .register(wire, {
    id: "TaskDone",
    description: "Calculator -> dispatcher. Also the ack of the assign; repeated from a cache on a duplicate assign.",
  });

export const TaskResult = z
  .strictObject({
    ...envelope,
    type: z.literal("task.result"),
    taskId: TaskId,
    result: Sha256Hex,
    attempts: z.int().min(1),
  })
  .register(wire, {
    id: "TaskResult",
    description: "Dispatcher -> client: the final success answer; repeated from a cache on a duplicate submit.",
  });

export const TaskFailed = z
  .strictObject({
    ...envelope,
    type: z.literal("task.failed"),
    taskId: TaskId,
    reason: FailureReason,
  })
  .register(wire, { id: "TaskFailed", description: "Dispatcher -> client: the final failure answer, with a reason." });

export const TaskCancel = z
  .strictObject({
    ...envelope,
    type: z.literal("task.cancel"),
    taskId: TaskId,
    attempt: z.int().min(1).optional(),
  })
  .register(wire, {
    id: "TaskCancel",
    description:
      "Client -> dispatcher: end the task with the final failure `cancelled` (idempotent; retransmitted until a " +
      "final answer arrives, which is the answer to the cancel). Dispatcher -> calculator: drop the queued copy " +
      "or abandon the running one; answered with task.ack state `cancelled`. With `attempt`, only copies of " +
      "that attempt or earlier are cancelled (and refused later): a copy placed afterwards (a higher attempt) " +
      "is not touched by a late or repeated cancel. See docs/REPLICATION.md and docs/OVERLAY.md.",
  });

/** Parents of one overlay node at most: overlay/tree.ts's PARENTS_MAX (a test holds them equal). */
export const OVERLAY_PARENTS_MAX = 64;

export const CalcHeartbeat = z
  .strictObject({
    ...envelope,
    type: z.literal("calc.heartbeat"),
    boot: z.int().min(0),
    seq: z.int().min(0),
    capacity: z.int().min(1).max(CAPACITY_MAX),
    running: z.int().min(0),
    overlayRole: z.enum(["root", "node"]).optional(),
    /** Overlay node: the tasks it runs in parallel (its topology slots; `capacity` adds its queue). */
    overlaySlots: z.int().min(1).max(CAPACITY_MAX).optional(),
    /** Overlay node: its parents' ids in the topology (none for the root), for the dashboard's tree. */
    overlayParents: z.array(NodeId).max(OVERLAY_PARENTS_MAX).optional(),
  })
  .register(wire, {
    id: "CalcHeartbeat",
    description:
      "Calculator -> dispatcher, every heartbeatIntervalMs. Registers the calculator on first receipt; " +
      "boot is the process start time (epoch ms) and seq counts heartbeats since then: (boot, seq) " +
      "orders them, so a delayed or stale heartbeat never overwrites a newer view. An overlay node also " +
      "names its slots and parents (overlaySlots, overlayParents), so /status and the dashboard show the tree.",
  });

/** Overlay nodes (and their queued tasks) in one rebalance result at most; more are summarised only. */
export const REBALANCE_LOADS_MAX = 64;

export const AdminRebalance = z
  .strictObject({
    ...envelope,
    type: z.literal("admin.rebalance"),
    requestId: z.uuid(),
    /**
     * Spaces that make the request at least as large as its answer: the dispatcher never answers a
     * source with more bytes than it received from it (no amplification, QUIC's rule; issue 12).
     */
    pad: z.string().max(DATAGRAM_BYTES_MAX).regex(/^ *$/, "spaces only").optional(),
  })
  .register(wire, {
    id: "AdminRebalance",
    description:
      "Operator CLI -> dispatcher -> overlay root: run one rebalancing round now. Retransmitted until a " +
      "result arrives; idempotent by requestId. `pad` (spaces) makes the request as large as the answer " +
      "may be: the dispatcher drops an answer larger than the request it relays.",
  });

export const NodeLoadChange = z
  .strictObject({ id: NodeId, slots: z.int().min(1).max(CAPACITY_MAX), before: z.int().min(0), after: z.int().min(0) })
  .register(wire, {
    id: "NodeLoadChange",
    description: "Queued tasks on one node before and after a rebalancing round.",
  });

export const AdminRebalanceResult = z
  .strictObject({
    ...envelope,
    type: z.literal("admin.rebalance.result"),
    requestId: z.uuid(),
    status: z.enum(["done", "timed_out", "no_overlay", "rejected"]),
    waveId: z.int().min(0),
    nodeCount: z.int().min(0),
    reachedCount: z.int().min(0),
    waveMessages: z.int().min(0),
    movedCount: z.int().min(0),
    loads: z.array(NodeLoadChange).max(REBALANCE_LOADS_MAX),
  })
  .register(wire, {
    id: "AdminRebalanceResult",
    description:
      "Overlay root -> dispatcher -> CLI: how a rebalancing round went (reachedCount < nodeCount when " +
      "a subtree did not answer in time; loads lists at most REBALANCE_LOADS_MAX nodes).",
  });

export const TaskQuery = z.strictObject({ ...envelope, type: z.literal("task.query"), taskId: TaskId }).register(wire, {
  id: "TaskQuery",
  description:
    "Operator CLI -> dispatcher: where is this task? Answered with its final answer while the dispatcher " +
    "keeps it (task.result or task.failed), a task.ack (queued or running), or task.unknown. Read-only; " +
    "retransmitted until answered.",
});

export const TaskUnknown = z
  .strictObject({ ...envelope, type: z.literal("task.unknown"), taskId: TaskId })
  .register(wire, {
    id: "TaskUnknown",
    description:
      "Dispatcher -> operator CLI: no such task (never submitted here, or its answer has expired from the " +
      "recent results).",
  });

/** Calculators in one admin.status.result page at most (keeps the datagram well under DATAGRAM_BYTES_MAX). */
export const STATUS_PAGE_CALCULATORS_MAX = 40;

export const AdminStatus = z
  .strictObject({
    ...envelope,
    type: z.literal("admin.status"),
    requestId: z.uuid(),
    /** Index of the first calculator wanted (calculators sorted by id). */
    offset: z.int().min(0),
  })
  .register(wire, {
    id: "AdminStatus",
    description:
      "Operator CLI -> dispatcher: the cluster's status, one page of calculators from `offset`. Read-only; " +
      "retransmitted until answered.",
  });

export const CalculatorRow = z
  .strictObject({
    // `running` first: admin.status.result's `tasks` names it before the row's other fields, and the
    // codec's compiled check wants one key order across a packet's objects (protocol/conforms.ts).
    running: z.int().min(0),
    id: NodeId,
    address: z.string().min(1).max(64),
    state: z.enum(["alive", "suspect", "dead", "parked"]),
    capacity: z.int().min(0).max(CAPACITY_MAX),
    failureRate: z.number().min(0).max(1),
    latencyMs: z.number().min(0).nullable(),
    lastSeenMs: z.number().min(0),
  })
  .register(wire, { id: "CalculatorRow", description: "One calculator as GET /status shows it (SPEC 8)." });

export const AdminStatusResult = z
  .strictObject({
    ...envelope,
    type: z.literal("admin.status.result"),
    requestId: z.uuid(),
    tasks: z.strictObject({
      queued: z.int().min(0),
      running: z.int().min(0),
      succeeded: z.int().min(0),
      failed: z.int().min(0),
    }),
    calculatorsTotal: z.int().min(0),
    offset: z.int().min(0),
    calculators: z.array(CalculatorRow).max(STATUS_PAGE_CALCULATORS_MAX),
    /** Calculators alive (or suspect or parked: heard within heartbeatTimeoutMs) now, of calculatorsTotal. */
    aliveCount: z.int().min(0).optional(),
    /** Calculators declared dead since the dispatcher started (SPEC 4: the outages a client's table shows). */
    outageCount: z.int().min(0).optional(),
    /** Copies taken from a calculator (dead, silent, restarted or busy) and placed again since start. */
    replacedCount: z.int().min(0).optional(),
  })
  .register(wire, {
    id: "AdminStatusResult",
    description:
      "Dispatcher -> operator CLI or client: task counts and calculators[offset .. offset + " +
      "STATUS_PAGE_CALCULATORS_MAX) of calculatorsTotal, sorted by id; the CLI asks for the next page until it " +
      "has them all (a client asks past the end for the counts alone). aliveCount, outageCount and " +
      "replacedCount: what the cluster survived so far (SPEC 4); absent from older dispatchers.",
  });

/** Every packet type of the task plane (client, dispatcher, calculator). */
export const taskPlanePackets = [
  TaskSubmit,
  TaskAck,
  TaskAssign,
  TaskDone,
  TaskResult,
  TaskFailed,
  CalcHeartbeat,
  TaskCancel,
];

export type TaskSubmit = z.infer<typeof TaskSubmit>;
export type TaskAck = z.infer<typeof TaskAck>;
export type TaskAssign = z.infer<typeof TaskAssign>;
export type TaskDone = z.infer<typeof TaskDone>;
export type TaskResult = z.infer<typeof TaskResult>;
export type TaskFailed = z.infer<typeof TaskFailed>;
export type CalcHeartbeat = z.infer<typeof CalcHeartbeat>;
export type TaskCancel = z.infer<typeof TaskCancel>;
export type AdminRebalance = z.infer<typeof AdminRebalance>;
export type NodeLoadChange = z.infer<typeof NodeLoadChange>;
export type AdminRebalanceResult = z.infer<typeof AdminRebalanceResult>;
export type TaskQuery = z.infer<typeof TaskQuery>;
export type TaskUnknown = z.infer<typeof TaskUnknown>;
export type AdminStatus = z.infer<typeof AdminStatus>;
export type CalculatorRow = z.infer<typeof CalculatorRow>;
export type AdminStatusResult = z.infer<typeof AdminStatusResult>;
export type NodeId = z.infer<typeof NodeId>;
export type TaskId = z.infer<typeof TaskId>;
