/**
 * Config file schemas (SPEC section 3). Every key has a default, so a file may give any subset;
 * unknown keys are errors. docs/CONFIG.md documents each key with its unit, default and meaning.
 */
import * as z from "zod";

import { PLACEMENT_NAMES } from "../placement/policies.js";
import { CAPACITY_MAX, INPUT_CHARS_MAX, NODE_ID_CHARS_MAX, ROUNDS_MAX } from "../protocol/limits.js";

const port = z.int().min(0).max(65_535);
const positiveMs = z.int().min(1);
const probability = z.number().min(0).max(1);
const nodeId = z
  .string()
  .min(1)
  .max(NODE_ID_CHARS_MAX)
  .regex(/^[A-Za-z0-9._:-]+$/, "use letters, digits and . _ : - only");

function address(host: string, portDefault: number) {
  return z.strictObject({ host: z.string().min(1).default(host), port: port.default(portDefault) }).prefault({});
}

function rangeMs(min: number, max: number) {
  return z
    .strictObject({ min: z.int().min(0).default(min), max: z.int().min(0).default(max) })
    .prefault({})
    .refine((range) => range.min <= range.max, { message: "min must not exceed max" });
}

const retryDelaysMs = z.array(positiveMs).min(1).max(16);

/** `auth.keyFile` (SPEC section 10, docs/SECURITY.md): null = no authentication. */
const auth = z.strictObject({ keyFile: z.string().min(1).nullable().default(null) }).prefault({});

export const DispatcherFileConfig = z
  .strictObject({
    nodeId: nodeId.default("dispatcher"),
    // SPEC section 10: the defaults listen on 127.0.0.1 only; without a key file the cluster trusts its network.
    listen: address("127.0.0.1", 5555),
    /** null turns the admin HTTP server off. */
    admin: z
      .strictObject({ host: z.string().min(1).default("127.0.0.1"), port: port.default(9464) })
      .nullable()
      .prefault({}),
    heartbeatTimeoutMs: positiveMs.default(3_000),
    calculatorEvictAfterMs: positiveMs.default(60_000),
    taskTimeoutMs: positiveMs.default(10_000),
    queueTimeoutMs: positiveMs.default(60_000),
    replication: z
      .strictObject({
        factor: z.int().min(1).max(16).default(1),
        quorum: z.int().min(1).max(16).default(1),
        /** Absent: max(6, factor). */
        maxCopies: z.int().min(1).max(32).optional(),
        adaptive: z.boolean().default(false),
        trustRunMin: z.int().min(1).max(1_000).default(10),
      })
      .prefault({})
      .refine((r) => r.quorum <= r.factor, { message: "quorum must not exceed factor" })
      .refine((r) => r.maxCopies === undefined || r.maxCopies >= r.factor, {
        message: "maxCopies must be at least factor (every task starts factor copies)",
      })
      .transform((r) => ({ ...r, maxCopies: r.maxCopies ?? Math.max(6, r.factor) })),
    hedging: z
      .strictObject({
        enabled: z.boolean().default(false),
        quantile: z.number().gt(0).max(1).default(0.95),
        minDelayMs: z.int().min(0).default(20),
        budget: z.number().min(0).max(10).default(0.1),
      })
      .prefault({}),
    placement: z
      .enum(PLACEMENT_NAMES, {
        error: (issue) =>
          `unknown placement policy ${JSON.stringify(issue.input)}; valid policies are ${PLACEMENT_NAMES.join(", ")}`,
      })
      .default("least-loaded"),
    /** Half-life of the per-calculator failure counts (dispatcher/estimates.ts). */
    failureHalfLifeMs: positiveMs.max(86_400_000).default(60_000),
    calculatorsMax: z.int().min(1).max(100_000).default(1_000),
    tasksMax: z.int().min(1).max(1_000_000).default(10_000),
    queueMax: z.int().min(1).max(1_000_000).default(5_000),
    /** SPEC 3: final answers kept for `ttlMs` (ms) after they were given, at most `max` (the oldest go first). */
    results: z
      .strictObject({
        ttlMs: positiveMs.max(30 * 86_400_000).default(3_600_000),
        max: z.int().min(1).max(1_000_000).default(100_000),
      })
      .prefault({}),
    ackDelayMs: z.int().min(0).default(50),
    assignRetryMs: retryDelaysMs.default([200, 400, 800, 1_600]),
    probeIntervalMs: positiveMs.default(1_000),
    tickMs: z.int().min(1).max(1_000).default(10),
    auth,
    /** SPEC 5.4; docs/JOURNAL.md. path null = no journal. */
    journal: z
      .strictObject({
        path: z.string().min(1).nullable().default(null),
        sync: z.enum(["full", "normal", "off"]).default("full"),
        maxBytes: z.int().min(65_536).default(1_073_741_824),
      })
      .prefault({}),
  })
  .refine((c) => c.queueMax <= c.tasksMax, { message: "queueMax must not exceed tasksMax", path: ["queueMax"] })
  .refine((c) => c.calculatorEvictAfterMs >= c.heartbeatTimeoutMs, {
    message: "calculatorEvictAfterMs must be at least heartbeatTimeoutMs",
    path: ["calculatorEvictAfterMs"],
  });
export type DispatcherFileConfig = z.infer<typeof DispatcherFileConfig>;

const hostPort = z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[^:\s]+):\d{1,5}$/, "use HOST:PORT, e.g. 127.0.0.1:7001");

/** A calculator's place in an overlay (SPEC section 7); absent for a plain calculator. */
export const OverlayFileConfig = z.strictObject({
  topology: z.string().min(1),
  peers: z.record(nodeId, hostPort),
  queueMax: z
    .int()
    .min(1)
    .max(CAPACITY_MAX - 1)
    .default(500),
  rebalanceIntervalMs: z.int().min(0).default(5_000),
  /** At most 300 s: a move offer must be presumed accepted well before a node forgets it (600 s). */
  waveTimeoutMs: positiveMs.max(300_000).default(5_000),
  childSilenceMs: positiveMs.default(2_000),
});
export type OverlayFileConfig = z.infer<typeof OverlayFileConfig>;

export const CalculatorFileConfig = z.strictObject({
  id: nodeId.optional(),
  /** `auto`: 127.0.0.1 when the dispatcher is on a loopback address, else the wildcard (SPEC section 3). */
  listen: address("auto", 0),
  dispatcher: address("127.0.0.1", 5555),
  capacity: z.int().min(1).max(CAPACITY_MAX).default(4),
  computeMs: rangeMs(3_000, 6_000),
  heartbeatIntervalMs: positiveMs.default(1_000),
  failure: z
    .strictObject({
      probability: probability.default(0.1),
      checkIntervalMs: positiveMs.default(10_000),
      durationMs: rangeMs(2_000, 5_000),
    })
    .prefault({}),
  corruption: z.strictObject({ probability: probability.default(0) }).prefault({}),
  resultsCacheMax: z.int().min(1).max(1_000_000).default(4_096),
  resultsCacheTtlMs: positiveMs.default(120_000),
  ackDelayMs: z.int().min(0).default(50),
  tickMs: z.int().min(1).max(1_000).default(5),
  overlay: OverlayFileConfig.optional(),
  auth,
});
export type CalculatorFileConfig = z.infer<typeof CalculatorFileConfig>;

export const ClientFileConfig = z.strictObject({
  id: nodeId.optional(),
  dispatcher: address("127.0.0.1", 5555),
  intervalMs: rangeMs(500, 1_500),
  // SPEC 3: longer than the dispatcher's queueTimeoutMs (60 s), so a task that cannot be done is answered
  // `timeout` before the client gives up on it.
  requestTimeoutMs: positiveMs.default(90_000),
  rounds: z.int().min(1).max(ROUNDS_MAX).default(1),
  inputChars: z.int().min(0).max(INPUT_CHARS_MAX).default(16),
  submitRetryMs: retryDelaysMs.default([250, 500, 1_000, 2_000]),
  keepaliveMs: positiveMs.default(3_000),
  pendingMax: z.int().min(1).max(1_000_000).default(10_000),
  tickMs: z.int().min(1).max(1_000).default(5),
  auth,
});
export type ClientFileConfig = z.infer<typeof ClientFileConfig>;
