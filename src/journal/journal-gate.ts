/**
 * The journal between the dispatcher core and the network (SPEC 5.4): records every task the core
 * accepts and every final answer it gives, commits them once per event-loop turn (group commit), and
 * holds every packet to a client (receipt, result, failure) until all records made before it are
 * durable. Nothing is acknowledged that is not on disk. While the store refuses writes (disk full,
 * I/O error) new tasks are answered `overloaded` and the failure is reported; held packets wait and
 * the commit is retried, so the journal catches up once the disk has room again. Wraps the core with
 * the same shape, so CoreHost and the simulation need no change.
 */

import type { DispatcherCore } from "../dispatcher/core.js";
import type { DispatcherOutput } from "../dispatcher/types.js";
import { decodeDatagram } from "../protocol/codec.js";
import { PROTOCOL_VERSION } from "../protocol/limits.js";
import type { Packet } from "../protocol/packet.js";
import { assert } from "../runtime/assert.js";
import type { HostedCore } from "../shell/core-host.js";
import type { Endpoint } from "../transport/transport.js";
import type { JournalContents, JournalRecord, JournalStore, JournalWriteFailure } from "./journal-store.js";

/** What the gate needs from outside; all time and scheduling is injected. */
export interface JournalGateDeps {
  readonly core: DispatcherCore;
  readonly store: JournalStore;
  readonly nodeId: string;
  /** Wall clock (ms since the epoch): journal ages must survive a restart. */
  readonly wallMs: () => number;
  /** Monotonic clock (ms) for commit latency. */
  readonly monoMs: () => number;
  /** Runs the turn's commit at the end of the turn (daemons: setImmediate). */
  readonly scheduleCommit: (commit: () => void) => void;
  /** Runs a failed commit again later (daemons: a timer). */
  readonly retryLater: (retry: () => void) => void;
  /** Held records bound: at most two per task the core may hold (task, final). */
  readonly pendingRecordsMax: number;
  readonly onWriteFailure: (failure: JournalWriteFailure) => void;
  readonly onWriteRecovered: () => void;
}

/** Commit latencies kept for reports. BOUNDED: the last COMMIT_SAMPLES_MAX commits. */
export const COMMIT_SAMPLES_MAX = 8_192;

function isClientFacing(
  packet: Packet,
): packet is Extract<Packet, { type: "task.ack" | "task.result" | "task.failed" }> {
  return packet.type === "task.ack" || packet.type === "task.result" || packet.type === "task.failed";
}

function heldKey(output: Extract<DispatcherOutput, { kind: "send" }>): string {
  const taskId = "taskId" in output.packet ? output.packet.taskId : "";
  return `${output.to.host}|${output.to.port}|${output.packet.type}|${taskId}`;
}

/** The dispatcher core behind a journal; see the file comment. */
export class JournalGate implements HostedCore<DispatcherOutput> {
  readonly #deps: JournalGateDeps;
  /** BOUNDED: pendingRecordsMax (asserted); emptied by every successful commit. */
  readonly #pending: JournalRecord[] = [];
  /** BOUNDED: one receipt or answer per task in the table or cache, the same turn's; dropped beyond pendingRecordsMax. */
  #held: DispatcherOutput[] = [];
  /** Index in #pending of each task record not yet committed. BOUNDED: as #pending. */
  readonly #pendingTaskAt = new Map<string, number>();
  /** Packets held, by destination, type and task. BOUNDED: as #held. */
  readonly #heldKeys = new Set<string>();
  #isScheduled = false;
  #failure: JournalWriteFailure | undefined;
  /** Performs released packets (the shell sets it to CoreHost.apply). */
  release: (outputs: readonly DispatcherOutput[]) => void = () => {};
  commitCount = 0;
  recordCount = 0;
  refusedCount = 0;
  droppedHeldCount = 0;
  /** Commit latencies (ms), a ring. BOUNDED: COMMIT_SAMPLES_MAX. */
  readonly commitSamplesMs: number[] = [];

  constructor(deps: JournalGateDeps) {
    assert(deps.pendingRecordsMax > 0, "pendingRecordsMax must be positive");
    this.#deps = deps;
  }

  /** Why the journal refuses writes now, if it does. */
  get failure(): JournalWriteFailure | undefined {
    return this.#failure;
  }

  /** Puts back what the journal held before the restart; returns the core's outputs (placements). */
  recover(nowMs: number, contents: JournalContents): DispatcherOutput[] {
    const { core, wallMs } = this.#deps;
    const wallNowMs = wallMs();
    for (const final of contents.finals) {
      const packet = decodeDatagram(new TextEncoder().encode(final.packetJson)).packets[0];
      if (packet !== undefined && (packet.type === "task.result" || packet.type === "task.failed"))
        core.restoreFinal(nowMs, packet, Math.max(0, wallNowMs - final.answeredWallMs)); // expires on time
    }
    const outputs: DispatcherOutput[] = [];
    for (const task of contents.unfinished) {
      const client: Endpoint = { host: task.clientHost, port: task.clientPort };
      const ageMs = Math.max(0, wallNowMs - task.arrivedWallMs);
      outputs.push(...core.restoreTask(nowMs, { ...task, client, ageMs }));
    }
    return this.#gate(outputs, new Set());
  }

  onPacket(nowMs: number, from: Endpoint, packet: Packet): DispatcherOutput[] {
    const { core } = this.#deps;
    if (packet.type !== "task.submit" || core.taskState(nowMs, packet.taskId) !== "unknown") {
      return this.#gate(core.onPacket(nowMs, from, packet), new Set());
    }
    if (this.#failure !== undefined || this.#pending.length + 2 > this.#deps.pendingRecordsMax) {
      this.refusedCount += 1;
      const refusal: Packet = {
        v: PROTOCOL_VERSION,
        type: "task.failed",
        from: this.#deps.nodeId,
        taskId: packet.taskId,
        reason: "overloaded",
      };
      return [{ kind: "send", to: from, packet: refusal }];
    }
    const outputs = core.onPacket(nowMs, from, packet);
    const accepted = new Set<string>();
    if (core.taskState(nowMs, packet.taskId) !== "unknown" && core.finalOf(nowMs, packet.taskId) === undefined) {
      accepted.add(packet.taskId);
      this.#pendingTaskAt.set(packet.taskId, this.#pending.length);
      this.#pending.push({
        kind: "task",
        task: {
          taskId: packet.taskId,
          clientHost: from.host,
          clientPort: from.port,
          clientId: packet.from,
          input: packet.input,
          rounds: packet.rounds,
          priority: packet.priority ?? 0,
          ...(packet.deadlineMs === undefined ? {} : { deadlineMs: packet.deadlineMs }),
          arrivedWallMs: this.#deps.wallMs(),
        },
      });
    }
    return this.#gate(outputs, accepted);
  }

  onTick(nowMs: number): DispatcherOutput[] {
    return this.#gate(this.#deps.core.onTick(nowMs), new Set());
  }

  nextDeadlineMs(): number | undefined {
    return this.#deps.core.nextDeadlineMs();
  }

  /** Records the finals among `outputs`, holds client packets behind pending records, passes the rest. */
  #gate(outputs: DispatcherOutput[], accepted: ReadonlySet<string>): DispatcherOutput[] {
    const finished = new Set<string>();
    for (const output of outputs) {
      if (output.kind === "task_completed" || output.kind === "task_failed") finished.add(output.taskId);
    }
    const passed: DispatcherOutput[] = [];
    for (const output of outputs) {
      if (output.kind !== "send" || !isClientFacing(output.packet)) {
        passed.push(output);
        continue;
      }
      const packet = output.packet;
      if (packet.type !== "task.ack" && finished.has(packet.taskId)) {
        finished.delete(packet.taskId);
        const answeredWallMs = this.#deps.wallMs();
        const final: JournalRecord = {
          kind: "final",
          final: { taskId: packet.taskId, packetJson: JSON.stringify(packet), answeredWallMs },
        };
        // Accepted and answered in the same turn: the answer alone says all (one row, not two).
        const at = this.#pendingTaskAt.get(packet.taskId);
        if (at === undefined) this.#pending.push(final);
        else this.#pending[at] = final;
        this.#pendingTaskAt.delete(packet.taskId);
      }
      if (this.#pending.length === 0 && this.#held.length === 0 && !accepted.has(packet.taskId)) passed.push(output);
      else this.#hold(output);
    }
    assert(this.#pending.length <= this.#deps.pendingRecordsMax + 2, "journal records pending beyond their bound");
    if ((this.#pending.length > 0 || this.#held.length > 0) && !this.#isScheduled) {
      this.#isScheduled = true;
      this.#deps.scheduleCommit(() => this.commit());
    }
    return passed;
  }

  #hold(output: DispatcherOutput): void {
    // A client that resent its submit while the answer waited for the disk gets it once, not twice.
    if (output.kind === "send" && this.#heldKeys.has(heldKey(output))) return;
    if (output.kind === "send") this.#heldKeys.add(heldKey(output));
    if (this.#held.length >= this.#deps.pendingRecordsMax) {
      // The client resends; its receipt or answer is given again then. Never sent unstored.
      this.#held.shift();
      this.droppedHeldCount += 1;
    }
    this.#held.push(output);
  }

  /** Ends the turn: makes the pending records durable, then releases the packets held behind them. */
  commit(): void {
    this.#isScheduled = false;
    if (this.#pending.length > 0) {
      const startedMs = this.#deps.monoMs();
      const failure = this.#deps.store.commit(this.#pending);
      if (failure !== undefined) {
        if (this.#failure === undefined) this.#deps.onWriteFailure(failure);
        this.#failure = failure;
        this.#isScheduled = true;
        this.#deps.retryLater(() => this.commit());
        return;
      }
      this.#recordSample(this.#deps.monoMs() - startedMs);
      this.commitCount += 1;
      this.recordCount += this.#pending.length;
      this.#pending.length = 0;
      this.#pendingTaskAt.clear();
      if (this.#failure !== undefined) {
        this.#failure = undefined;
        this.#deps.onWriteRecovered();
      }
    }
    const released = this.#held;
    this.#held = [];
    this.#heldKeys.clear();
    if (released.length > 0) this.release(released);
  }

  #recordSample(ms: number): void {
    if (this.commitSamplesMs.length >= COMMIT_SAMPLES_MAX) this.commitSamplesMs.splice(0, COMMIT_SAMPLES_MAX / 2);
    this.commitSamplesMs.push(ms);
  }
}
