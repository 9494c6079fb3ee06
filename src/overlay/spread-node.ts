/**
 * Finn spread in the daemons, for one overlay node (SPEC.md section 7, docs/OVERLAY.md): the root
 * runs one Finn wave per batch the dispatcher asks for (`spread.start`); every node acts exactly once,
 * when it has heard the wave from all its parents (finn.ts decides), and acting means claiming its
 * share, the index range spread-shares.ts computes from the topology, from the dispatcher
 * (`spread.claim`). The dispatcher alone assigns tasks: a node never runs what it claimed until the
 * assign arrives, and a claim for tasks placed elsewhere gets none. A node reports completion to its
 * primary parent only after its claim was answered, so the root's `spread.end` (done) means every
 * claim reached the dispatcher; a wave that does not complete in waveTimeoutMs ends as timed_out and
 * the dispatcher places the unclaimed tasks itself. Shell-side like agent.ts: time comes in as nowMs,
 * effects go out through SpreadPorts; no timers and no sockets of its own.
 */
import type { Logger } from "pino";
import { PROTOCOL_VERSION } from "../protocol/limits.js";
import type { WaveFinn, WaveFinnDone } from "../protocol/overlay-packets.js";
import type { Packet } from "../protocol/packet.js";
import { SPREAD_TASKS_MAX, type SpreadClaimed, type SpreadStart } from "../protocol/spread-packets.js";
import type { Endpoint } from "../transport/transport.js";
import { FinnNode, type FinnOutput } from "./finn.js";
import type { PacketDraft } from "./link.js";
import { SpreadRootBatches } from "./spread-root.js";
import { spreadRangeOf } from "./spread-shares.js";
import type { Topology } from "./tree.js";

/** Spread waves a node keeps state for at once; older ones are forgotten (their stragglers dropped). */
export const SPREAD_WAVES_MAX = 8;
/** A claim is resent this often until the dispatcher answers (ms). */
export const CLAIM_RESEND_MS = 500;

/** What a spread node needs from its agent. */
export interface SpreadPorts {
  readonly log: Logger;
  /** Reliable send to overlay node `to`. */
  sendOverlay(nowMs: number, to: string, draft: PacketDraft): void;
  /** One datagram to an address (the dispatcher). */
  sendTo(to: Endpoint, packet: Packet): void;
  /** Counts (and logs) a dropped packet. */
  drop(reason: string): void;
  /** Observes that this node acted in wave `waveId`, taking `share` tasks (the simulator counts acts). */
  acted?(waveId: number, share: number): void;
}

/** Settings of a spread node. */
export interface SpreadNodeConfig {
  readonly nodeId: string;
  readonly topology: Topology;
  /** This node's incarnation (its heartbeat boot), stamped on claims. */
  readonly boot: number;
  /** The root ends a wave as timed out this long after it started (ms). */
  readonly waveTimeoutMs: number;
  /** Where claims go. */
  readonly dispatcher: Endpoint;
}

/** A claim of this node in one wave. */
interface Claim {
  readonly first: number;
  readonly count: number;
  readonly sinceMs: number;
  nextSendMs: number;
  isAnswered: boolean;
}

/** This node's part of one wave. */
interface WaveState {
  readonly batchId: string;
  /** Tasks in the batch (every wave.finn carries it). */
  readonly count: number;
  claim: Claim | undefined;
  /** Completion held back until the claim is answered. */
  held: FinnOutput | undefined;
  /** Finn messages this node sent in the wave, plus those its primary children reported. */
  sentCount: number;
  /** Nodes known to have acted (root: from done reports). */
  actedCount: number;
}

/** One node's Finn spread. */
export class SpreadNode {
  readonly #config: SpreadNodeConfig;
  readonly #ports: SpreadPorts;
  readonly #finn: FinnNode;
  readonly #index: number;
  /** BOUNDED: SPREAD_WAVES_MAX, oldest evicted first (insertion = wave order). */
  readonly #waves = new Map<number, WaveState>();
  /** The root's batches; undefined on other nodes. */
  readonly #root: SpreadRootBatches | undefined;
  #lastWaveId: number;

  constructor(config: SpreadNodeConfig, ports: SpreadPorts) {
    const { topology, nodeId } = config;
    this.#config = config;
    this.#ports = ports;
    this.#index = topology.mustIndexOf(nodeId);
    this.#root =
      this.#index === topology.root
        ? new SpreadRootBatches(config, ports, (waveId) => this.#waves.get(waveId))
        : undefined;
    const ids = (indexes: readonly number[] | undefined): string[] =>
      (indexes ?? []).map((i) => topology.ids[i] as string);
    this.#finn = new FinnNode({
      id: nodeId,
      slots: topology.slots[this.#index] as number,
      parents: ids(topology.parents[this.#index]),
      children: ids(topology.children[this.#index]),
      primaryChildren: ids(topology.treeChildren[this.#index]),
      wavesMax: SPREAD_WAVES_MAX,
    });
    this.#lastWaveId = Math.max(0, config.boot);
  }

  /** Root: the dispatcher asks for a wave (a repeat gets the same end once there is one). */
  onStart(nowMs: number, from: Endpoint, start: SpreadStart): void {
    const root = this.#root;
    if (root === undefined) {
      this.#ports.drop("spread_not_the_root");
      return;
    }
    if (root.answerRepeat(from, start.batchId)) return;
    this.#lastWaveId += 1;
    const waveId = this.#lastWaveId;
    root.add(nowMs, from, start, waveId);
    const wave = this.#newWave(waveId, start.batchId, start.count);
    this.#perform(nowMs, waveId, wave, this.#finn.start(waveId, this.#batchOf(start.count)));
  }

  /** A parent forwarded the wave. */
  onFinn(nowMs: number, packet: WaveFinn): void {
    if (packet.batchId === undefined || packet.itemsTotal > SPREAD_TASKS_MAX) {
      this.#ports.drop("finn_without_batch"); // or a batch no dispatcher makes: nothing to claim
      return;
    }
    const wave = this.#waves.get(packet.waveId) ?? this.#newWave(packet.waveId, packet.batchId, packet.itemsTotal);
    const batch = { itemsTotal: packet.itemsTotal, slotsTotal: packet.slotsTotal };
    this.#perform(nowMs, packet.waveId, wave, this.#finn.onFinn(packet.from, packet.waveId, batch));
  }

  /** A primary child's subtree acted. */
  onDone(nowMs: number, packet: WaveFinnDone): void {
    const wave = this.#waves.get(packet.waveId);
    if (wave === undefined) {
      this.#ports.drop("finn_unknown_wave");
      return;
    }
    const outputs = this.#finn.onDone(packet.from, packet.waveId, packet.actedCount, packet.takenCount);
    if (!outputs.some((o) => o.kind === "wave_ignored")) {
      wave.sentCount += packet.sentCount ?? 0;
      wave.actedCount += packet.actedCount;
    }
    this.#perform(nowMs, packet.waveId, wave, outputs);
  }

  /** The dispatcher answered a claim. */
  onClaimed(nowMs: number, packet: SpreadClaimed): void {
    for (const [waveId, wave] of this.#waves) {
      const claim = wave.claim;
      if (wave.batchId !== packet.batchId || claim === undefined || claim.first !== packet.first) continue;
      if (claim.isAnswered) return;
      claim.isAnswered = true;
      this.#ports.log.info(
        { batchId: wave.batchId, waveId, first: claim.first, share: claim.count, assigned: packet.assignedCount },
        "spread share claimed",
      );
      this.#release(nowMs, waveId, wave);
      return;
    }
    this.#ports.drop("spread_unknown_claim");
  }

  /** True when onTick has something to do: a claim awaits its answer, or (root) a wave its end. */
  get hasWork(): boolean {
    for (const wave of this.#waves.values()) if (wave.claim !== undefined && !wave.claim.isAnswered) return true;
    return this.#root?.hasWork === true;
  }

  /** Resends unanswered claims; the root ends overdue waves. */
  onTick(nowMs: number): void {
    for (const [waveId, wave] of this.#waves) {
      const claim = wave.claim;
      if (claim === undefined || claim.isAnswered) continue;
      if (nowMs - claim.sinceMs > this.#config.waveTimeoutMs) {
        // The dispatcher does not answer: report anyway; it places what nobody claimed.
        claim.isAnswered = true;
        this.#ports.log.warn({ batchId: wave.batchId, waveId }, "spread claim unanswered: reported without it");
        this.#release(nowMs, waveId, wave);
      } else if (claim.nextSendMs <= nowMs) {
        claim.nextSendMs = nowMs + CLAIM_RESEND_MS;
        this.#sendClaim(wave.batchId, claim);
      }
    }
    this.#root?.onTick(nowMs);
  }

  #batchOf(count: number): { itemsTotal: number; slotsTotal: number } {
    return { itemsTotal: count, slotsTotal: this.#config.topology.slots.reduce((sum, s) => sum + s, 0) };
  }

  #newWave(waveId: number, batchId: string, count: number): WaveState {
    if (this.#waves.size >= SPREAD_WAVES_MAX) {
      const oldest = this.#waves.keys().next();
      if (!oldest.done) this.#waves.delete(oldest.value);
    }
    const wave: WaveState = { batchId, count, claim: undefined, held: undefined, sentCount: 0, actedCount: 0 };
    this.#waves.set(waveId, wave);
    return wave;
  }

  #perform(nowMs: number, waveId: number, wave: WaveState, outputs: readonly FinnOutput[]): void {
    for (const output of outputs) {
      switch (output.kind) {
        case "act":
          this.#act(nowMs, waveId, wave);
          break;
        case "send_finn":
          wave.sentCount += 1;
          this.#ports.sendOverlay(nowMs, output.to, {
            type: "wave.finn",
            waveId,
            itemsTotal: output.batch.itemsTotal,
            slotsTotal: output.batch.slotsTotal,
            batchId: wave.batchId,
          });
          break;
        case "send_done":
        case "wave_completed":
          if (wave.claim !== undefined && !wave.claim.isAnswered) wave.held = output;
          else this.#complete(nowMs, waveId, wave, output);
          break;
        case "wave_ignored":
          this.#ports.drop(`finn_${output.reason}`);
          break;
      }
    }
  }

  /** Acting: claim this node's share (finn.ts's floor share is not used; spread-shares.ts sums to the batch). */
  #act(nowMs: number, waveId: number, wave: WaveState): void {
    wave.actedCount += 1;
    const { first, count } = spreadRangeOf(this.#config.topology, wave.count, this.#index);
    this.#ports.log.info({ batchId: wave.batchId, waveId, first, share: count }, "spread wave: acted");
    this.#ports.acted?.(waveId, count);
    if (count === 0) return;
    wave.claim = { first, count, sinceMs: nowMs, nextSendMs: nowMs + CLAIM_RESEND_MS, isAnswered: false };
    this.#sendClaim(wave.batchId, wave.claim);
  }

  #sendClaim(batchId: string, claim: Claim): void {
    this.#ports.sendTo(this.#config.dispatcher, {
      v: PROTOCOL_VERSION,
      type: "spread.claim",
      from: this.#config.nodeId,
      boot: this.#config.boot,
      batchId,
      first: claim.first,
      count: claim.count,
    });
  }

  #release(nowMs: number, waveId: number, wave: WaveState): void {
    const held = wave.held;
    wave.held = undefined;
    if (held !== undefined) this.#complete(nowMs, waveId, wave, held);
  }

  #complete(nowMs: number, waveId: number, wave: WaveState, output: FinnOutput): void {
    if (output.kind === "send_done") {
      wave.sentCount += 1;
      this.#ports.sendOverlay(nowMs, output.to, {
        type: "wave.finn.done",
        waveId,
        actedCount: output.actedCount,
        takenCount: output.takenCount,
        sentCount: wave.sentCount,
      });
      return;
    }
    if (output.kind === "wave_completed") this.#root?.onCompleted(waveId);
  }
}
