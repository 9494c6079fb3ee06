/**
 * The journal between the dispatcher core and the network (SPEC 5.4): records every final answer the
 * core gives and every task it acknowledges, and holds every packet to a client (receipt, result,
 * failure) until all records made before it are durable (commit-pipeline.ts: group commit, off this
 * thread when there is a writer thread). Nothing is acknowledged that is not on disk. A task's record
 * waits until its receipt is due (most tasks are answered first, and then only the answer is
 * written). While the store refuses writes (disk full, I/O error) new tasks are answered `overloaded`
 * and the failure is reported; held packets wait and the batch is retried, so the journal catches up
 * once the disk has room again. Wraps the core with the same shape, so CoreHost and the simulation
 * need no change.
 */

import type { DispatcherCore } from "../dispatcher/core.js";
import type { DispatcherOutput } from "../dispatcher/types.js";
import { decodeDatagram } from "../protocol/codec.js";
import { PROTOCOL_VERSION } from "../protocol/limits.js";
import type { Packet } from "../protocol/packet.js";
import { type AdminSpread, spreadTaskId, spreadTaskInput } from "../protocol/spread-packets.js";
import { assert } from "../runtime/assert.js";
import type { HostedCore } from "../shell/core-host.js";
import type { Endpoint } from "../transport/transport.js";
import { CommitPipeline, type CommitPipelineDeps } from "./commit-pipeline.js";
import type { JournalAsyncWriter, JournalContents, JournaledTask, JournalWriteFailure } from "./journal-store.js";

export { COMMIT_SAMPLES_MAX } from "./commit-pipeline.js";

/** What the gate needs from outside; all time and scheduling is injected (see CommitPipelineDeps). */
export interface JournalGateDeps extends CommitPipelineDeps {
  readonly core: DispatcherCore;
  readonly nodeId: string;
  /** Wall clock (ms since the epoch): journal ages must survive a restart. */
  readonly wallMs: () => number;
}

/** Packets to a submitter: receipts, answers, and the answer to `cluster spread` (its tasks' receipt). */
function isClientFacing(
  packet: Packet,
): packet is Extract<Packet, { type: "task.ack" | "task.result" | "task.failed" | "admin.spread.result" }> {
  return (
    packet.type === "task.ack" ||
    packet.type === "task.result" ||
    packet.type === "task.failed" ||
    packet.type === "admin.spread.result"
  );
}

function heldKey(output: Extract<DispatcherOutput, { kind: "send" }>): string {
  const packet = output.packet;
  const id = "taskId" in packet ? packet.taskId : "requestId" in packet ? packet.requestId : "";
  return `${output.to.host}|${output.to.port}|${packet.type}|${id}`;
}

/** The dispatcher core behind a journal; see the file comment. */
export class JournalGate implements HostedCore<DispatcherOutput> {
  readonly #deps: JournalGateDeps;
  readonly #pipeline: CommitPipeline;
  /** Accepted tasks whose record waits for their receipt (see #defer). BOUNDED: pendingRecordsMax, the oldest written beyond it. */
  readonly #deferred = new Map<string, JournaledTask>();
  #isStopping = false;
  refusedCount = 0;

  constructor(deps: JournalGateDeps) {
    assert(deps.pendingRecordsMax > 0, "pendingRecordsMax must be positive");
    this.#deps = deps;
    this.#pipeline = new CommitPipeline(deps);
  }

  /** Performs released packets (the shell sets it to CoreHost.apply). */
  set release(release: (outputs: readonly DispatcherOutput[]) => void) {
    this.#pipeline.release = release;
  }

  /** Why the journal refuses writes now, if it does. */
  get failure(): JournalWriteFailure | undefined {
    return this.#pipeline.failure;
  }

  /** Records not yet durable (tests, bounds). */
  get unstoredCount(): number {
    return this.#pipeline.unstoredCount;
  }

  get commitCount(): number {
    return this.#pipeline.commitCount;
  }

  get recordCount(): number {
    return this.#pipeline.recordCount;
  }

  get droppedHeldCount(): number {
    return this.#pipeline.droppedHeldCount;
  }

  /** Commit latencies (ms, from a batch leaving to it being durable). BOUNDED: COMMIT_SAMPLES_MAX. */
  get commitSamplesMs(): readonly number[] {
    return this.#pipeline.commitSamplesMs;
  }

  /** From now on commits go to `writer` (the shell attaches the writer thread once the store has loaded). */
  attachWriter(writer: JournalAsyncWriter): void {
    this.#pipeline.attachWriter(writer);
  }

  /** Ends the turn (the gate schedules it itself; the shell calls it at a stop). */
  commit(): void {
    this.#pipeline.commit();
  }

  /** Stops taking new tasks (refused `overloaded`); what was accepted is stored, and answered as before. */
  stopAccepting(): void {
    this.#isStopping = true;
    // A graceful stop keeps even what no receipt promised yet.
    for (const taskId of [...this.#deferred.keys()]) this.#writeDeferred(taskId);
  }

  /** Resolves once nothing is unstored or held, or at once while the store cannot write. */
  drained(): Promise<void> {
    return this.#pipeline.drained();
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
    return this.#gate(outputs, undefined, nowMs);
  }

  onPacket(nowMs: number, from: Endpoint, packet: Packet): DispatcherOutput[] {
    const { core } = this.#deps;
    if (packet.type === "task.cancel" && core.taskState(nowMs, packet.taskId) === "unknown") {
      // A cancel that overtook its submit: the core answers it `cancelled` at once, with no
      // task_failed output; that answer is final (the submit gets it too), so it is journaled.
      const outputs = core.onPacket(nowMs, from, packet);
      return this.#gate(outputs, core.finalOf(nowMs, packet.taskId) === undefined ? undefined : packet.taskId, nowMs);
    }
    if (packet.type === "admin.spread") {
      const outputs = core.onPacket(nowMs, from, packet);
      this.#recordSpread(from, packet, outputs);
      return this.#gate(outputs, undefined, nowMs);
    }
    if (packet.type !== "task.submit" || core.taskState(nowMs, packet.taskId) !== "unknown") {
      return this.#gate(core.onPacket(nowMs, from, packet), undefined, nowMs);
    }
    const pipeline = this.#pipeline;
    if (
      pipeline.failure !== undefined ||
      this.#isStopping ||
      pipeline.unstoredCount + 2 > this.#deps.pendingRecordsMax
    ) {
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
    if (core.taskState(nowMs, packet.taskId) !== "unknown" && core.finalOf(nowMs, packet.taskId) === undefined) {
      this.#defer({
        taskId: packet.taskId,
        clientHost: from.host,
        clientPort: from.port,
        clientId: packet.from,
        input: packet.input,
        rounds: packet.rounds,
        priority: packet.priority ?? 0,
        ...(packet.deadlineMs === undefined ? {} : { deadlineMs: packet.deadlineMs }),
        arrivedWallMs: this.#deps.wallMs(),
      });
    }
    return this.#gate(outputs, undefined, nowMs);
  }

  onTick(nowMs: number): DispatcherOutput[] {
    return this.#gate(this.#deps.core.onTick(nowMs), undefined, nowMs);
  }

  /**
   * A new spread batch (`spread_started`): its tasks are journaled at once, since the answer to the
   * request (held behind them) is their receipt: it lists their ids for `cluster result`.
   */
  #recordSpread(from: Endpoint, request: AdminSpread, outputs: readonly DispatcherOutput[]): void {
    const started = outputs.find((o) => o.kind === "spread_started");
    if (started?.kind !== "spread_started") return;
    const arrivedWallMs = this.#deps.wallMs();
    for (let i = 0; i < started.count; i += 1) {
      this.#pipeline.add({
        kind: "task",
        task: {
          taskId: spreadTaskId(started.batchId, i),
          clientHost: from.host,
          clientPort: from.port,
          clientId: request.from,
          input: spreadTaskInput(started.batchId, i),
          rounds: request.rounds,
          priority: 0,
          arrivedWallMs,
          isSilent: true,
        },
      });
    }
  }

  nextDeadlineMs(): number | undefined {
    return this.#deps.core.nextDeadlineMs();
  }

  /**
   * An accepted task's record waits until its receipt is due (ackDelayMs): most tasks are answered
   * first, and then the answer alone is written. Nothing was promised for a task not acknowledged
   * (a kill -9 before its receipt loses it, and its client sends it again).
   */
  #defer(task: JournaledTask): void {
    if (this.#deferred.size >= this.#deps.pendingRecordsMax) {
      const oldest = this.#deferred.keys().next().value;
      if (oldest !== undefined) this.#writeDeferred(oldest); // written early: always safe
    }
    this.#deferred.set(task.taskId, task);
  }

  /** Moves a task's deferred record (if it has one) into the next batch. */
  #writeDeferred(taskId: string): void {
    const task = this.#deferred.get(taskId);
    if (task === undefined) return;
    this.#deferred.delete(taskId);
    this.#pipeline.add({ kind: "task", task });
  }

  /**
   * Records the receipts' tasks and the finals among `outputs` (and `answeredTaskId`'s, answered
   * without a task_failed output), holds client packets behind unstored records, passes the rest.
   */
  #gate(outputs: DispatcherOutput[], answeredTaskId: string | undefined, nowMs: number): DispatcherOutput[] {
    const pipeline = this.#pipeline;
    const finished = new Set<string>(answeredTaskId === undefined ? [] : [answeredTaskId]);
    for (const output of outputs) {
      if (output.kind === "task_completed" || output.kind === "task_failed") {
        finished.add(output.taskId);
        this.#deferred.delete(output.taskId); // its answer is written instead (below), if it has one
      }
    }
    const passed: DispatcherOutput[] = [];
    for (const output of outputs) {
      if (output.kind !== "send" || !isClientFacing(output.packet)) {
        passed.push(output);
        continue;
      }
      const packet = output.packet;
      if (packet.type === "task.ack") this.#writeDeferred(packet.taskId);
      else if (packet.type !== "admin.spread.result" && finished.has(packet.taskId)) {
        finished.delete(packet.taskId);
        const answeredWallMs = this.#deps.wallMs();
        pipeline.add({
          kind: "final",
          final: { taskId: packet.taskId, packetJson: JSON.stringify(packet), answeredWallMs },
        });
      }
      if (pipeline.isIdle) passed.push(output);
      else pipeline.hold(output, heldKey(output));
    }
    // Answers sent to nobody (a spread batch's tasks): journaled all the same, for `cluster result`.
    for (const taskId of finished) {
      const final = this.#deps.core.finalOf(nowMs, taskId);
      if (final === undefined) continue;
      pipeline.add({
        kind: "final",
        final: { taskId, packetJson: JSON.stringify(final), answeredWallMs: this.#deps.wallMs() },
      });
    }
    assert(pipeline.unstoredCount <= this.#deps.pendingRecordsMax + 2, "journal records pending beyond their bound");
    pipeline.schedule();
    return passed;
  }
}
