/**
 * How an OverlayAgent carries out what its pure echo and move state machines decide: wave and move
 * packets become reliable sends, finished moves become commits on the node's queue, and notable
 * steps are logged; and the agent's Finn spread part (spread-node.ts), built from its ports. Split out of agent.ts to keep that file under the house limit of ~300
 * lines. No timers and no sockets of its own: time comes in as nowMs, effects go through AgentPorts.
 */
import type { Logger } from "pino";

import type { Packet } from "../protocol/packet.js";
import type { Endpoint } from "../transport/transport.js";
import type { OverlayAgentDeps } from "./agent-config.js";
import type { EchoOutput, SubtreeReport } from "./echo.js";
import { splitReport } from "./echo-parts.js";
import type { PacketDraft } from "./link.js";
import type { MoveOutput, MoveQueue } from "./move.js";
import type { OverlayQueue } from "./overlay-queue.js";
import { SpreadNode } from "./spread-node.js";

/** What the output handlers need from their OverlayAgent. */
export interface AgentPorts {
  readonly queue: OverlayQueue;
  readonly log: Logger;
  /** Reliable send to overlay node `to` (a message to this node is handled at once). */
  send(nowMs: number, to: string, draft: PacketDraft): void;
  /** Counts (and logs) an overlay packet dropped for `reason`. */
  drop(reason: string): void;
  /** Stops resending our move offer (`round`, `index`) to `to` (it was presumed moved). */
  abandonOffer?(to: string, round: number, index: number): void;
}

/** Performs a move node's outputs: offers, replies and reports go out, moved tasks are committed. */
export function performMove(ports: AgentPorts, nowMs: number, outputs: readonly MoveOutput[]): void {
  for (const output of outputs) {
    switch (output.kind) {
      case "send_offer":
        ports.send(nowMs, output.to, {
          type: "overlay.move",
          round: output.round,
          index: output.index,
          tasks: output.tasks,
        });
        break;
      case "send_reply":
        ports.send(nowMs, output.to, {
          type: "overlay.move.reply",
          round: output.round,
          index: output.index,
          accepted: output.accepted,
          refused: output.refused,
        });
        break;
      case "send_report":
        ports.send(nowMs, output.to, {
          type: "overlay.move.report",
          ...output.report,
          movedTaskIds: [...output.report.movedTaskIds],
        });
        break;
      case "tasks_moved":
        ports.queue.commitMoved(nowMs, output.taskIds, output.to);
        ports.log.debug({ to: output.to, count: output.taskIds.length }, "queued tasks moved");
        break;
      case "move_presumed":
        // Presumed moved, the offer must not reach the receiver later: the dispatcher may have placed
        // its tasks elsewhere meanwhile (this node cut off and declared dead). Its receiver would only
        // hold it until the dispatcher refuses it, but the resends are useless traffic.
        ports.abandonOffer?.(output.to, output.round, output.index);
        ports.log.warn(
          { to: output.to, count: output.taskIds.length },
          "no reply to a move offer: tasks presumed moved",
        );
        break;
      case "move_ignored":
        ports.drop(`move_${output.reason}`);
        break;
    }
  }
}

/** The calculator's queue as a MoveNode sees it; commits wait for `tasks_moved`, which names the holder. */
export function agentMoveQueue(queue: OverlayQueue, now: () => number): MoveQueue {
  return {
    reserveQueued: (countMax) => queue.reserveQueued(countMax),
    commitMoved: () => undefined, // committed on `tasks_moved`, which names the new holder
    releaseReserved: (taskIds) => queue.releaseReserved(now(), taskIds),
    acceptIncoming: (tasks, giver) => queue.acceptIncoming(now(), tasks, giver),
  };
}

/** Performs an echo node's outputs and counts the wave messages this node sent, per wave. */
export class EchoOutputs {
  readonly #wavesMax: number;
  /** BOUNDED: wavesMax waves; echo messages this node sent per wave. */
  readonly #sentPerWave = new Map<number, number>();

  constructor(wavesMax: number) {
    this.#wavesMax = wavesMax;
  }

  /** Sends explores and echo parts, logs progress, and hands a decided wave's report to `onDecided`. */
  perform(
    ports: AgentPorts,
    nowMs: number,
    outputs: readonly EchoOutput[],
    onDecided: (nowMs: number, waveId: number, report: SubtreeReport) => void,
  ): void {
    for (const output of outputs) {
      switch (output.kind) {
        case "send_explore":
          this.#countWaveMessage(output.waveId);
          ports.send(nowMs, output.to, { type: "wave.explore", waveId: output.waveId });
          break;
        case "send_echo": {
          const parts = splitReport(output.report);
          if (parts === undefined) {
            // Children reported more nodes than a report can carry: the wave goes unanswered here
            // (the root's round times out), counted and said at warn.
            ports.drop("echo_report_too_large");
            ports.log.warn({ waveId: output.waveId, nodeCount: output.report.nodeCount }, "echo report too large");
            break;
          }
          this.#countWaveMessage(output.waveId);
          for (const part of parts) ports.send(nowMs, output.to, { type: "wave.echo", waveId: output.waveId, ...part });
          ports.log.info(
            { waveId: output.waveId, messagesSent: this.#sentPerWave.get(output.waveId) },
            "echo wave: my part done",
          );
          break;
        }
        case "wave_decided":
          ports.log.info(
            {
              waveId: output.waveId,
              messagesSent: this.#sentPerWave.get(output.waveId),
              reachedCount: output.report.nodeCount,
            },
            "echo wave decided",
          );
          onDecided(nowMs, output.waveId, output.report);
          break;
        case "wave_ignored":
          ports.drop(`echo_${output.reason}`);
          break;
      }
    }
  }

  /** Echo messages sent in wave `waveId` (0 for a wave not remembered). */
  sentIn(waveId: number): number {
    return this.#sentPerWave.get(waveId) ?? 0;
  }

  #countWaveMessage(waveId: number): void {
    if (!this.#sentPerWave.has(waveId) && this.#sentPerWave.size >= this.#wavesMax) {
      const oldest = this.#sentPerWave.keys().next();
      if (!oldest.done) this.#sentPerWave.delete(oldest.value);
    }
    this.#sentPerWave.set(waveId, (this.#sentPerWave.get(waveId) ?? 0) + 1);
  }
}

/** The node's Finn spread, when it knows its dispatcher. */
export function spreadNodeFor(
  deps: OverlayAgentDeps,
  ports: AgentPorts,
  sendTo: (to: Endpoint, packet: Packet) => void,
): SpreadNode | undefined {
  if (deps.dispatcher === undefined) return undefined;
  const { config } = deps;
  const acted = deps.observer?.spreadActed;
  return new SpreadNode(
    {
      nodeId: config.nodeId,
      topology: config.topology,
      boot: deps.boot ?? config.bootMs,
      waveTimeoutMs: config.waveTimeoutMs,
      dispatcher: deps.dispatcher,
    },
    {
      log: ports.log,
      sendOverlay: (nowMs, to, draft) => ports.send(nowMs, to, draft),
      sendTo,
      drop: ports.drop,
      ...(acted === undefined ? {} : { acted: (waveId: number, share: number) => acted(waveId, share) }),
    },
  );
}
