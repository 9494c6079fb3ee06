/**
 * One overlay node as the simulator runs it: a thin shell (like a daemon's) around the pure echo,
 * Finn and move state machines, the link layer and the echo-part assembler. Datagrams go through the
 * real codec over a {@link Transport}; time arrives as `nowMs`. The shell counts, the cores decide.
 */
import { decodePacket, encodePacket } from "../protocol/codec.js";
import { PROTOCOL_VERSION } from "../protocol/limits.js";
import type { OverlayPacket, WaveEcho } from "../protocol/overlay-packets.js";
import { assert } from "../runtime/assert.js";
import type { Datagram, Endpoint, Transport } from "../transport/transport.js";
import { EchoNode, type EchoOutput, type SubtreeReport } from "./echo.js";
import { EchoAssembler, splitReport } from "./echo-parts.js";
import { type FinnBatch, FinnNode, type FinnOutput } from "./finn.js";
import { type LinkConfig, OverlayLink, type PacketDraft, type ReliablePacket } from "./link.js";
import { MoveNode, type MoveOutput, type MoveReport } from "./move.js";
import type { MoveOrder } from "./rebalance.js";
import type { TaskQueue } from "./task-queue.js";

/** Events a node hands to the simulator (root decisions, counts). */
export interface SimNodeEvents {
  onWaveMessage(waveId: number): void;
  onFinnMessage(): void;
  onEchoDecided(waveId: number, report: SubtreeReport): void;
  onFinnCompleted(waveId: number, actedCount: number, takenCount: number): void;
  onActed(nodeId: string, waveId: number, takeCount: number): void;
  onMoveReport(report: MoveReport): void;
  onDropped(reason: string): void;
}

/** How a node finds its peers. */
export interface Directory {
  endpointOf(id: string): Endpoint;
  idOf(endpoint: Endpoint): string | undefined;
}

/** Everything a {@link SimNode} is built from. */
export interface SimNodeDeps {
  readonly id: string;
  readonly slots: number;
  readonly parents: readonly string[];
  readonly children: readonly string[];
  readonly treeChildren: readonly string[];
  readonly transport: Transport;
  readonly directory: Directory;
  readonly queue: TaskQueue;
  readonly link: Omit<LinkConfig, "id">;
  readonly events: SimNodeEvents;
  readonly nowMs: () => number;
}

const WAVES_MAX = 8;

/** A simulated overlay node. */
export class SimNode {
  readonly id: string;
  readonly queue: TaskQueue;
  readonly link: OverlayLink;
  readonly echo: EchoNode;
  readonly finn: FinnNode;
  readonly move: MoveNode;
  readonly #deps: SimNodeDeps;
  readonly #assembler = new EchoAssembler(64);

  constructor(deps: SimNodeDeps) {
    this.#deps = deps;
    this.id = deps.id;
    this.queue = deps.queue;
    this.link = new OverlayLink({ id: deps.id, ...deps.link });
    this.echo = new EchoNode({
      id: deps.id,
      parent: deps.parents[0],
      children: deps.treeChildren,
      wavesMax: WAVES_MAX,
    });
    this.finn = new FinnNode({
      id: deps.id,
      slots: deps.slots,
      parents: deps.parents,
      children: deps.children,
      primaryChildren: deps.treeChildren,
      wavesMax: WAVES_MAX,
    });
    this.move = new MoveNode({ id: deps.id, movesRememberedMax: 4096, rememberMs: 3_600_000 }, deps.queue);
    deps.transport.onReceive((datagram) => this.#onDatagram(datagram));
  }

  /** Root: starts echo wave `waveId`. */
  startEcho(waveId: number): void {
    this.#performEcho(this.echo.start(waveId, this.#load()));
  }

  /** Root: starts Finn wave `waveId`. */
  startFinn(waveId: number, batch: FinnBatch): void {
    this.#performFinn(this.finn.start(waveId, batch));
  }

  /** Root: sends one move order to its giver (handled locally when the root gives). */
  sendOrder(order: MoveOrder): void {
    const { round, index, to, count } = order;
    this.#send(order.from, { type: "overlay.move.order", round, index, to, count });
  }

  /** Resends whatever is due. */
  onTick(nowMs: number): void {
    for (const send of this.link.onTick(nowMs)) this.#transmit(send.to, send.packet);
  }

  #load(): { slots: number; queued: number } {
    return { slots: this.#deps.slots, queued: this.queue.count("queued") };
  }

  #onDatagram(datagram: Datagram): void {
    const decoded = decodePacket(datagram.bytes);
    const packet = decoded.ok ? decoded.packet : undefined;
    let dropReason: string | undefined;
    if (!decoded.ok) dropReason = decoded.error.code;
    else if (packet === undefined || !isOverlay(packet)) dropReason = "not_overlay";
    else if (this.#deps.directory.idOf(datagram.from) !== packet.from) dropReason = "spoofed";
    if (dropReason !== undefined || packet === undefined || !isOverlay(packet)) {
      this.#deps.events.onDropped(dropReason ?? "not_overlay");
      return;
    }
    const received = this.link.onPacket(this.#deps.nowMs(), packet);
    if (received.dropped !== undefined) this.#deps.events.onDropped(received.dropped);
    if (received.ack !== undefined) this.#transmit(received.ack.to, received.ack.packet);
    if (received.deliver !== undefined) this.#handle(received.deliver);
  }

  #handle(packet: ReliablePacket): void {
    const nowMs = this.#deps.nowMs();
    switch (packet.type) {
      case "wave.explore":
        this.#assembler.forgetBefore(packet.waveId - WAVES_MAX); // parts of forgotten waves never complete
        this.#performEcho(this.echo.onExplore(packet.from, packet.waveId, this.#load()));
        break;
      case "wave.echo":
        this.#onEchoPart(packet);
        break;
      case "wave.finn":
        this.#performFinn(this.finn.onFinn(packet.from, packet.waveId, packet));
        break;
      case "wave.finn.done":
        this.#performFinn(this.finn.onDone(packet.from, packet.waveId, packet.actedCount, packet.takenCount));
        break;
      case "overlay.move.order":
        this.#performMove(this.move.onOrder(nowMs, packet.from, { ...packet, from: this.id }));
        break;
      case "overlay.move":
        this.#performMove(this.move.onOffer(nowMs, packet.from, packet.round, packet.index, packet.tasks));
        break;
      case "overlay.move.reply":
        this.#performMove(this.move.onReply(nowMs, packet.from, packet.round, packet.index, packet.accepted));
        break;
      case "overlay.move.report":
        this.#deps.events.onMoveReport(packet);
        break;
    }
  }

  #onEchoPart(packet: WaveEcho): void {
    const result = this.#assembler.add(packet.from, packet.waveId, packet);
    if (result.kind === "rejected") this.#deps.events.onDropped(`echo_${result.reason}`);
    if (result.kind === "complete") this.#performEcho(this.echo.onEcho(packet.from, packet.waveId, result.report));
  }

  #performEcho(outputs: readonly EchoOutput[]): void {
    for (const output of outputs) {
      switch (output.kind) {
        case "send_explore":
          this.#deps.events.onWaveMessage(output.waveId);
          this.#send(output.to, { type: "wave.explore", waveId: output.waveId });
          break;
        case "send_echo": {
          const parts = splitReport(output.report);
          if (parts === undefined) {
            this.#deps.events.onDropped("echo_report_too_large");
            break;
          }
          this.#deps.events.onWaveMessage(output.waveId);
          for (const part of parts) this.#send(output.to, { type: "wave.echo", waveId: output.waveId, ...part });
          break;
        }
        case "wave_decided":
          this.#deps.events.onEchoDecided(output.waveId, output.report);
          break;
        case "wave_ignored":
          this.#deps.events.onDropped(`echo_${output.reason}`);
          break;
      }
    }
  }

  #performFinn(outputs: readonly FinnOutput[]): void {
    for (const output of outputs) {
      switch (output.kind) {
        case "send_finn":
          this.#deps.events.onFinnMessage();
          this.#send(output.to, { type: "wave.finn", waveId: output.waveId, ...output.batch });
          break;
        case "send_done": {
          this.#deps.events.onFinnMessage();
          const { waveId, actedCount, takenCount } = output;
          this.#send(output.to, { type: "wave.finn.done", waveId, actedCount, takenCount });
          break;
        }
        case "act":
          this.#deps.events.onActed(this.id, output.waveId, output.takeCount);
          break;
        case "wave_completed":
          this.#deps.events.onFinnCompleted(output.waveId, output.actedCount, output.takenCount);
          break;
        case "wave_ignored":
          this.#deps.events.onDropped(`finn_${output.reason}`);
          break;
      }
    }
  }

  #performMove(outputs: readonly MoveOutput[]): void {
    for (const output of outputs) {
      switch (output.kind) {
        case "send_offer":
          this.#send(output.to, {
            type: "overlay.move",
            round: output.round,
            index: output.index,
            tasks: output.tasks,
          });
          break;
        case "send_reply": {
          const { round, index, accepted, refused } = output;
          this.#send(output.to, { type: "overlay.move.reply", round, index, accepted, refused });
          break;
        }
        case "send_report":
          this.#send(output.to, {
            type: "overlay.move.report",
            ...output.report,
            movedTaskIds: [...output.report.movedTaskIds],
          });
          break;
        case "tasks_moved":
          break; // a daemon tells the dispatcher here; the simulation has none
        case "move_presumed":
          break; // the simulation never expires offers
        case "move_ignored":
          this.#deps.events.onDropped(`move_${output.reason}`);
          break;
      }
    }
  }

  /** Reliable send; a message to ourselves is handled at once, as the daemon would. */
  #send(to: string, draft: PacketDraft): void {
    if (to === this.id) {
      this.#handle({ ...draft, v: PROTOCOL_VERSION, from: this.id, seq: 0 } as ReliablePacket);
      return;
    }
    const send = this.link.send(this.#deps.nowMs(), to, draft);
    assert(send !== undefined, `${this.id}: link table full (size unackedMax for the run)`);
    this.#transmit(send.to, send.packet);
  }

  #transmit(to: string, packet: OverlayPacket): void {
    this.#deps.transport.send(this.#deps.directory.endpointOf(to), encodePacket(packet));
  }
}

const OVERLAY_TYPES = new Set<string>([
  "wave.explore",
  "wave.echo",
  "wave.finn",
  "wave.finn.done",
  "overlay.ack",
  "overlay.move.order",
  "overlay.move",
  "overlay.move.reply",
  "overlay.move.report",
]);

function isOverlay(packet: { type: string }): packet is OverlayPacket {
  return OVERLAY_TYPES.has(packet.type);
}
