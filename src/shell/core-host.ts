/**
 * Hosts one sans-IO core on a transport: decodes at the edge (rejects counted by code, never
 * thrown), feeds the core, encodes and sends its `send` outputs and hands the rest to `perform`.
 * The daemons and the simulation use this same path, so the simulation tests what ships. With a
 * flush scheduler, sends are coalesced per peer until the end of the turn (see SendBatcher).
 */
import { type DecodeErrorCode, decodeDatagram, encodePacket } from "../protocol/codec.js";
import type { Packet } from "../protocol/packet.js";
import type { Endpoint, Transport } from "../transport/transport.js";
import { type FlushScheduler, SendBatcher } from "./send-batcher.js";

/** Anything with the core shape: packets in, outputs out. */
export interface HostedCore<O> {
  onPacket(nowMs: number, from: Endpoint, packet: Packet): O[];
  onTick(nowMs: number): O[];
  /** When (ms) onTick next has something to do; early is allowed, late is not (see DeadlineTicker). */
  nextDeadlineMs?(): number | undefined;
}

/** Optional parts of a {@link CoreHost}. */
export interface CoreHostOptions {
  /** Packets another component handles (e.g. an overlay node on a calculator's socket); true = taken. */
  readonly divert?: (nowMs: number, from: Endpoint, packet: Packet) => boolean;
  /** Coalesce sends per peer and flush them when this says (daemons: setImmediate); absent = send at once. */
  readonly scheduleFlush?: FlushScheduler;
}

/** A core on a transport; `perform` handles every non-send output. */
export class CoreHost<O extends { kind: string }> {
  /** BOUNDED: one counter per decode error code. */
  readonly rejected = new Map<DecodeErrorCode, number>();
  readonly transport: Transport;
  receivedCount = 0;
  /** Datagrams received (a batch frame is one datagram carrying several packets). */
  datagramsReceivedCount = 0;
  sentCount = 0;
  readonly core: HostedCore<O>;
  readonly #nowMs: () => number;
  readonly #perform: (output: O) => void;
  #isRunning = true;
  /** Called after every packet handled and every outside apply() (a DeadlineTicker re-arms here). */
  afterEvent: (() => void) | undefined;

  readonly #divert: CoreHostOptions["divert"];
  /** Present when sends are coalesced per turn. */
  readonly batcher: SendBatcher | undefined;

  constructor(
    transport: Transport,
    core: HostedCore<O>,
    nowMs: () => number,
    perform: (output: O) => void,
    options: CoreHostOptions = {},
  ) {
    this.#divert = options.divert;
    this.batcher = options.scheduleFlush === undefined ? undefined : new SendBatcher(transport, options.scheduleFlush);
    this.transport = transport;
    this.core = core;
    this.#nowMs = nowMs;
    this.#perform = perform;
    transport.onReceive(({ from, bytes }) => {
      if (!this.#isRunning) return;
      this.datagramsReceivedCount += 1;
      const contents = decodeDatagram(bytes);
      for (const error of contents.errors) this.rejected.set(error.code, (this.rejected.get(error.code) ?? 0) + 1);
      if (contents.packets.length === 0) return;
      const nowMs = this.#nowMs();
      for (const packet of contents.packets) {
        this.receivedCount += 1;
        if (this.#divert?.(nowMs, from, packet) !== true) this.#apply(this.core.onPacket(nowMs, from, packet));
      }
      this.afterEvent?.();
    });
  }

  /** Send counters for a daemon's final log: packets, the datagrams that carried them, and batch frames. */
  sendCounts(): { packets_sent: number; datagrams_sent: number; batch_frames_sent: number } {
    return {
      packets_sent: this.sentCount,
      datagrams_sent: this.batcher?.datagramCount ?? this.sentCount,
      batch_frames_sent: this.batcher?.frameCount ?? 0,
    };
  }

  /** A paused host neither ticks nor reads (emulates SIGSTOP in simulations). */
  set isRunning(value: boolean) {
    this.#isRunning = value;
  }

  get isRunning(): boolean {
    return this.#isRunning;
  }

  /** Ticks the core now; returns how many outputs the tick produced (0 when paused). */
  tick(): number {
    if (!this.#isRunning) return 0;
    const outputs = this.core.onTick(this.#nowMs());
    this.#apply(outputs);
    return outputs.length;
  }

  /** Performs outputs a core produced outside onPacket/onTick (e.g. a computation finishing). */
  apply(outputs: readonly O[]): void {
    this.#apply(outputs);
    this.afterEvent?.();
  }

  #apply(outputs: readonly O[]): void {
    for (const output of outputs) {
      if (output.kind === "send") {
        const send = output as unknown as { to: Endpoint; packet: Packet };
        this.sentCount += 1;
        if (this.batcher === undefined) this.transport.send(send.to, encodePacket(send.packet));
        else this.batcher.send(send.to, send.packet);
      } else {
        this.#perform(output);
      }
    }
  }
}
