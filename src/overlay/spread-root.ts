/**
 * The root's side of Finn spread (spread-node.ts): one wave per batch the dispatcher asks for, the
 * batch's `spread.end` once the wave completed or timed out, and the same end again for every repeat
 * of the dispatcher's `spread.start`. Split out of spread-node.ts (one responsibility per file); like
 * it, shell-side: time comes in as nowMs, effects go out through SpreadPorts.
 */
import { PROTOCOL_VERSION } from "../protocol/limits.js";
import { SPREAD_SHARES_MAX, type SpreadEnd, type SpreadStart } from "../protocol/spread-packets.js";
import type { Endpoint } from "../transport/transport.js";
import type { SpreadNodeConfig, SpreadPorts } from "./spread-node.js";
import { spreadShares } from "./spread-shares.js";

/** Batches the root remembers (with their end, to answer the dispatcher's repeats); the oldest go first. */
const ROOT_BATCHES_MAX = 64;

/** What the root knows of a wave when it ends: nodes that acted and Finn messages, from done reports. */
export interface SpreadWaveCounts {
  readonly actedCount: number;
  readonly sentCount: number;
}

/** The root's view of one batch. */
interface RootBatch {
  readonly waveId: number;
  readonly count: number;
  readonly startedMs: number;
  readonly replyTo: Endpoint;
  end: SpreadEnd | undefined;
}

/** The root's batches. */
export class SpreadRootBatches {
  readonly #config: SpreadNodeConfig;
  readonly #ports: SpreadPorts;
  readonly #countsOf: (waveId: number) => SpreadWaveCounts | undefined;
  /** BOUNDED: ROOT_BATCHES_MAX, oldest evicted first (insertion order). */
  readonly #batches = new Map<string, RootBatch>();

  constructor(
    config: SpreadNodeConfig,
    ports: SpreadPorts,
    countsOf: (waveId: number) => SpreadWaveCounts | undefined,
  ) {
    this.#config = config;
    this.#ports = ports;
    this.#countsOf = countsOf;
  }

  /** True for a batch already started; a repeat is answered with its end once there is one. */
  answerRepeat(from: Endpoint, batchId: string): boolean {
    const known = this.#batches.get(batchId);
    if (known === undefined) return false;
    if (known.end !== undefined) this.#ports.sendTo(from, known.end);
    return true;
  }

  /** A new batch runs as wave `waveId`. */
  add(nowMs: number, from: Endpoint, start: SpreadStart, waveId: number): void {
    if (this.#batches.size >= ROOT_BATCHES_MAX) {
      const oldest = this.#batches.keys().next();
      if (!oldest.done) this.#batches.delete(oldest.value);
    }
    this.#batches.set(start.batchId, { waveId, count: start.count, startedMs: nowMs, replyTo: from, end: undefined });
    this.#ports.log.info({ batchId: start.batchId, waveId, count: start.count }, "spread wave started");
  }

  /** True while some batch's wave has not ended. */
  get hasWork(): boolean {
    for (const batch of this.#batches.values()) if (batch.end === undefined) return true;
    return false;
  }

  /** Ends the waves that outlived waveTimeoutMs, as timed out. */
  onTick(nowMs: number): void {
    for (const [batchId, batch] of this.#batches) {
      if (batch.end === undefined && nowMs - batch.startedMs > this.#config.waveTimeoutMs)
        this.#end(batchId, batch, "timed_out");
    }
  }

  /** Wave `waveId` completed: every node acted and reported. */
  onCompleted(waveId: number): void {
    for (const [batchId, batch] of this.#batches) {
      if (batch.waveId === waveId && batch.end === undefined) this.#end(batchId, batch, "done");
    }
  }

  /** The wave of `batch` ended; tell the dispatcher (its repeats of spread.start get this again). */
  #end(batchId: string, batch: RootBatch, status: SpreadEnd["status"]): void {
    const { topology } = this.#config;
    const counts = this.#countsOf(batch.waveId);
    const shares = spreadShares(topology.slots, batch.count);
    batch.end = {
      v: PROTOCOL_VERSION,
      type: "spread.end",
      from: this.#config.nodeId,
      batchId,
      status,
      waveId: batch.waveId,
      nodeCount: topology.size,
      actedCount: counts?.actedCount ?? 0,
      waveMessages: counts?.sentCount ?? 0,
      shares: topology.ids.slice(0, SPREAD_SHARES_MAX).map((id, i) => ({ id, share: shares[i] as number })),
    };
    const fields = {
      batchId,
      waveId: batch.waveId,
      actedCount: batch.end.actedCount,
      waveMessages: batch.end.waveMessages,
    };
    if (status === "done") this.#ports.log.info(fields, "spread wave done");
    else this.#ports.log.warn({ ...fields, nodeCount: topology.size }, "spread wave timed out");
    this.#ports.sendTo(batch.replyTo, batch.end);
  }
}
