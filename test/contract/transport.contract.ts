/**
 * Goal: every Transport keeps the same promises (transport.ts), so a shell tested on MemoryNetwork
 * behaves the same on real UDP: a real local port, the sender's address on every datagram (replies go
 * to the source address), byte-exact payloads, no delivery from or to a closed transport, and quiet,
 * idempotent shutdown.
 * Method: one suite, parameterised by a harness that opens transports and moves datagrams along;
 * transports.contract.test.ts runs it against MemoryNetwork and UdpTransport on loopback. The suite
 * never sleeps: it polls with a bound (waitFor) and asserts only what holds without retransmission.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { type Datagram, sameEndpoint, type Transport } from "../../src/transport/transport.js";

/** Opens transports for one test and makes in-flight datagrams progress. */
export interface TransportHarness {
  /** A fresh transport on its own loopback endpoint (port 0 picks it). */
  open(): Promise<Transport>;
  /** One step of progress: a memory network delivers what is due; real sockets need only the event loop. */
  pump(): void;
  /** Delivers everything still in flight (memory), or nothing (UDP: loopback delivers in send order). */
  drain(): void;
  /** Closes what open() returned and releases the harness. */
  teardown(): Promise<void>;
}

/** Longest a contract step may wait for datagrams, in ms (well under vitest's testTimeout). */
const WAIT_MS_MAX = 1_000;

/**
 * Polls `predicate`, calling `pump` and yielding to the event loop between checks, until it holds;
 * throws after `timeoutMs`. A bounded poll, not a sleep: it returns as soon as the condition is true.
 */
export async function waitFor(
  predicate: () => boolean,
  timeoutMs: number,
  pump: () => void = () => undefined,
): Promise<void> {
  const deadlineMs = performance.now() + timeoutMs;
  for (;;) {
    if (predicate()) return;
    if (performance.now() > deadlineMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    pump();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** Records everything `transport` receives. */
function collect(transport: Transport): Datagram[] {
  const received: Datagram[] = [];
  transport.onReceive((datagram) => received.push(datagram));
  return received;
}

function texts(datagrams: readonly Datagram[]): string[] {
  return datagrams.map((datagram) => textDecoder.decode(datagram.bytes));
}

/** Registers the transport contract suite under `name`; `makeHarness` runs once per test. */
export function describeTransportContract(name: string, makeHarness: () => Promise<TransportHarness>): void {
  describe(`Transport contract: ${name}`, () => {
    let harness: TransportHarness;
    const waitUntil = (predicate: () => boolean): Promise<void> =>
      waitFor(predicate, WAIT_MS_MAX, () => harness.pump());

    beforeEach(async () => {
      harness = await makeHarness();
    });
    afterEach(async () => {
      await harness.teardown();
    });

    it("binds a real, non-zero local port", async () => {
      const a = await harness.open();
      const b = await harness.open();
      for (const transport of [a, b]) {
        expect(Number.isInteger(transport.local.port)).toBe(true);
        expect(transport.local.port).toBeGreaterThan(0);
        expect(transport.local.port).toBeLessThan(65_536);
        expect(transport.local.host).toBe("127.0.0.1");
      }
      expect(sameEndpoint(a.local, b.local)).toBe(false);
    });

    it("delivers with the sender's endpoint, so a reply to the source address arrives", async () => {
      const a = await harness.open();
      const b = await harness.open();
      const receivedByA = collect(a);
      b.onReceive((datagram) => b.send(datagram.from, textEncoder.encode(`re:${textDecoder.decode(datagram.bytes)}`)));
      a.send(b.local, textEncoder.encode("ping"));
      await waitUntil(() => receivedByA.length === 1);
      const [reply] = receivedByA;
      expect(texts(receivedByA)).toEqual(["re:ping"]);
      expect(reply && sameEndpoint(reply.from, b.local)).toBe(true);
    });

    it("delivers a binary payload byte for byte", async () => {
      const a = await harness.open();
      const b = await harness.open();
      const received = collect(b);
      const payload = new Uint8Array(512);
      for (let i = 0; i < payload.length; i += 1) payload[i] = (i * 7 + 3) % 256;
      payload.set([0, 0, 0xff, 0xfe, 0xc0, 0x80], 100); // NULs and invalid UTF-8 must pass untouched.
      a.send(b.local, payload);
      await waitUntil(() => received.length === 1);
      expect(Array.from(received[0]?.bytes ?? [])).toEqual(Array.from(payload));
    });

    it("lets the sender reuse its buffer as soon as send() returns", async () => {
      const a = await harness.open();
      const b = await harness.open();
      const received = collect(b);
      const buffer = textEncoder.encode("first");
      a.send(b.local, buffer);
      buffer.set(textEncoder.encode("XXXXX"));
      await waitUntil(() => received.length === 1);
      expect(texts(received)).toEqual(["first"]);
    });

    it("delivers several datagrams from several senders, each exactly once", async () => {
      const a = await harness.open();
      const b = await harness.open();
      const c = await harness.open();
      const received = collect(c);
      const expected: string[] = [];
      for (let i = 0; i < 20; i += 1) {
        const sender = i % 2 === 0 ? a : b;
        const text = `${sender === a ? "a" : "b"}-${i}`;
        expected.push(text);
        sender.send(c.local, textEncoder.encode(text));
      }
      await waitUntil(() => received.length >= expected.length);
      harness.drain();
      // Best effort promises no order, so compare as sets; the sources must match the prefixes.
      expect(texts(received).sort()).toEqual([...expected].sort());
      for (const datagram of received) {
        const sender = textDecoder.decode(datagram.bytes).startsWith("a-") ? a : b;
        expect(sameEndpoint(datagram.from, sender.local)).toBe(true);
      }
    });

    it("hands every datagram to the latest onReceive handler only", async () => {
      const a = await harness.open();
      const b = await harness.open();
      const first = collect(b);
      const second = collect(b);
      a.send(b.local, textEncoder.encode("one"));
      await waitUntil(() => second.length === 1);
      expect(first).toEqual([]);
    });

    it("does not throw when sending after close, and delivers nothing from a closed transport", async () => {
      const a = await harness.open();
      const b = await harness.open();
      const marker = await harness.open();
      const received = collect(b);
      await a.close();
      expect(() => a.send(b.local, textEncoder.encode("late"))).not.toThrow();
      marker.send(b.local, textEncoder.encode("marker"));
      await waitUntil(() => received.length >= 1);
      harness.drain();
      expect(texts(received)).toEqual(["marker"]);
    });

    it("does not throw when sending to a closed peer", async () => {
      const a = await harness.open();
      const b = await harness.open();
      const peer = b.local;
      await b.close();
      expect(() => a.send(peer, textEncoder.encode("anyone?"))).not.toThrow();
      harness.drain();
      // A later round trip still works: an unreachable peer must not break the sender.
      const c = await harness.open();
      const received = collect(c);
      a.send(c.local, textEncoder.encode("still alive"));
      await waitUntil(() => received.length === 1);
    });

    it("closes idempotently, even when close() calls overlap", async () => {
      const a = await harness.open();
      await expect(Promise.all([a.close(), a.close()])).resolves.toBeDefined();
      await expect(a.close()).resolves.toBeUndefined();
    });
  });
}
