/**
 * Fuzz targets for the security edge with a key (issue 12 item 5): the edge alone, and a whole
 * dispatcher (shell, core) behind it. Datagrams are junk, junk dressed as an envelope under the real
 * key id, genuine datagrams sealed by a peer's edge (whose payloads are themselves fuzzed), replays of
 * genuine ones and genuine ones with one byte changed. Asserted: only genuine datagrams get through,
 * each once; every other one is counted as exactly one drop by reason; and behind the edge the
 * dispatcher's shell takes exactly the genuine datagrams, handing their packets to the core and
 * counting each decode error by code. Tests and tools only.
 */
import fc from "fast-check";
import { pino } from "pino";

import { startDispatcher } from "../dispatcher/daemon.js";
import { decodeDatagram } from "../protocol/codec.js";
import { DATAGRAM_BYTES_MAX } from "../protocol/limits.js";
import { ManualClock } from "../runtime/clock.js";
import { simDispatcherConfig } from "../sim/sim-configs.js";
import type { Datagram, Endpoint, Transport } from "../transport/transport.js";
import { EdgeTransport } from "./edge-transport.js";
import { arbDatagram, DISPATCHER, PEERS } from "./fuzz-inputs.js";
import type { Keyring } from "./keyring.js";

/**
 * One silent logger for every case: each pino() opens a stdout stream (a SonicBoom with its buffer),
 * too much to make per case over a million cases.
 */
export const SILENT_LOG = pino({ level: "silent" });

const KEYRING: Keyring = { keys: new Map([["k1", Buffer.alloc(32, 1)]]), activeId: "k1" };
const SENDER = PEERS[1] as Endpoint;
const WALL_MS = 1_700_000_000_000;

/** A transport that records what is sent and lets the test deliver datagrams. */
export type StubTransport = Transport & { receive?: (datagram: Datagram) => void };

/** A stub transport at `local`; `onSend` sees every datagram sent. */
export function stubTransport(local: Endpoint, onSend: (bytes: Uint8Array) => void): StubTransport {
  const transport: StubTransport = {
    local,
    send: (_to, bytes) => onSend(Uint8Array.from(bytes)),
    onReceive: (handler) => {
      transport.receive = handler;
    },
    close: () => Promise.resolve(),
  };
  return transport;
}

type Step =
  | { readonly kind: "junk"; readonly bytes: Uint8Array }
  | { readonly kind: "genuine"; readonly bytes: Uint8Array }
  | { readonly kind: "replay"; readonly n: number }
  | { readonly kind: "mutate"; readonly n: number; readonly at: number; readonly byte: number };

/** Junk that starts like an envelope under the real key id, so it costs the receiver an HMAC. */
function dressedAsSealed(bytes: Uint8Array): Uint8Array {
  const forged = new Uint8Array(bytes.length + 63);
  forged.set([0xa5, 1, 2, 0x6b, 0x31]);
  forged.set(bytes.subarray(0, 20), 5);
  forged.set(bytes, 31);
  return forged;
}

const arbSteps: fc.Arbitrary<Step[]> = fc.array(
  fc.oneof(
    arbDatagram.map((bytes): Step => ({ kind: "junk", bytes })),
    arbDatagram.map((bytes): Step => ({ kind: "junk", bytes: dressedAsSealed(bytes) })),
    // A genuine peer never sends more than DATAGRAM_BYTES_MAX (its codec refuses), whatever the bytes.
    arbDatagram.map((bytes): Step => ({ kind: "genuine", bytes: bytes.subarray(0, DATAGRAM_BYTES_MAX) })),
    fc.nat().map((n): Step => ({ kind: "replay", n })),
    fc.tuple(fc.nat(), fc.nat(), fc.nat(255)).map(([n, at, byte]): Step => ({ kind: "mutate", n, at, byte })),
  ),
  { maxLength: 16 },
);

/** A sealing peer and a receiving edge; run() delivers the steps and reports what happened. */
function edgePair(receiverInner: StubTransport, nowMs: () => number) {
  const sealed: Uint8Array[] = [];
  const options = { keyring: KEYRING, wallMs: () => WALL_MS, nowMs };
  const sender = new EdgeTransport(
    stubTransport(SENDER, (bytes) => sealed.push(bytes)),
    { ...options, senderId: new Uint8Array(8).fill(1) },
  );
  const receiver = new EdgeTransport(receiverInner, { ...options, senderId: new Uint8Array(8).fill(2) });
  let deliveredCount = 0;
  const genuine: Uint8Array[] = [];
  const deliver = (bytes: Uint8Array): void => {
    deliveredCount += 1;
    receiverInner.receive?.({ from: SENDER, bytes });
  };
  const run = (steps: readonly Step[], afterEach: () => void): void => {
    for (const step of steps) {
      if (step.kind === "junk") deliver(step.bytes);
      else if (step.kind === "genuine") {
        sender.send(DISPATCHER, step.bytes);
        genuine.push(step.bytes);
        deliver(sealed.at(-1) as Uint8Array);
      } else if (sealed.length > 0) {
        const original = sealed[step.n % sealed.length] as Uint8Array;
        if (step.kind === "replay") deliver(original);
        else {
          const bytes = Uint8Array.from(original);
          const at = step.at % bytes.length;
          if (bytes[at] === step.byte) continue;
          bytes[at] = step.byte;
          deliver(bytes);
        }
      }
      afterEach();
    }
  };
  const droppedCount = (): number => {
    const { rate, source, auth, replay } = receiver.stats.dropped;
    return rate + source + auth + replay;
  };
  return { receiver, genuine, run, deliveredCount: () => deliveredCount, droppedCount };
}

/** The edge alone: exactly the genuine datagrams come out, once each, in order; the rest are counted. */
export const edgeProperty = fc.property(arbSteps, (steps) => {
  const inner = stubTransport(DISPATCHER, () => undefined);
  const pair = edgePair(inner, () => 0);
  const taken: Uint8Array[] = [];
  pair.receiver.onReceive(({ bytes }) => taken.push(Uint8Array.from(bytes)));
  pair.run(steps, () => undefined);
  const same = (a: Uint8Array, b: Uint8Array | undefined): boolean =>
    b !== undefined && Buffer.from(a).equals(Buffer.from(b));
  return (
    taken.length === pair.genuine.length &&
    taken.every((bytes, i) => same(bytes, pair.genuine[i])) &&
    pair.receiver.stats.acceptedCount === pair.genuine.length &&
    pair.receiver.stats.acceptedCount + pair.droppedCount() === pair.deliveredCount()
  );
});

/**
 * A dispatcher behind the edge: only the genuine datagrams reach its shell, and each of those is
 * decoded into packets or counted as rejected by code; nothing throws, time moves on between steps.
 */
export const stackProperty = fc.property(arbSteps, fc.nat(300), (steps, stepMs) => {
  const clock = new ManualClock(0);
  const inner = stubTransport(DISPATCHER, () => undefined);
  const pair = edgePair(inner, () => clock.nowMs());
  const handle = startDispatcher({
    config: simDispatcherConfig({ nodeId: "dispatcher" }),
    tickMs: 5,
    transport: pair.receiver,
    clock,
    log: SILENT_LOG,
  });
  pair.run(steps, () => clock.advance(stepMs));
  void handle.stop();
  const { host } = handle;
  let packetCount = 0;
  let errorCount = 0;
  for (const bytes of pair.genuine) {
    const contents = decodeDatagram(bytes);
    packetCount += contents.packets.length;
    errorCount += contents.errors.length;
  }
  const rejectedCount = [...host.rejected.values()].reduce((sum, n) => sum + n, 0);
  return (
    host.datagramsReceivedCount === pair.genuine.length &&
    host.receivedCount === packetCount &&
    rejectedCount === errorCount &&
    pair.receiver.stats.acceptedCount + pair.droppedCount() === pair.deliveredCount()
  );
});
