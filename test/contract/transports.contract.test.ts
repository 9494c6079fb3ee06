/**
 * Goal: MemoryNetwork and UdpTransport both keep the Transport contract, and MemoryNetwork's fault
 * model (seeded loss, duplication, delay/reordering, capacity, isolation) does what its options say,
 * replayably, because every deterministic shell test relies on it.
 * Method: the shared contract suite against MemoryNetwork (no faults) and UdpTransport on
 * 127.0.0.1 port 0; then memory-only tests over 2 000 seeded sends with loose statistical bounds
 * (about five standard deviations, so a correct network never fails them), one UDP bind test, and
 * one UDP addressing test (an IP literal is sent at once; `localhost` still goes through dns.lookup,
 * which answers it from the hosts file). No fixed ports, no sleeps.
 */
import { describe, expect, it } from "vitest";

import { seededRng } from "../../src/runtime/rng.js";
import { MemoryNetwork, type MemoryNetworkOptions } from "../../src/transport/memory-network.js";
import type { Datagram, Transport } from "../../src/transport/transport.js";
import { openUdpTransport } from "../../src/transport/udp-transport.js";
import { describeTransportContract, type TransportHarness } from "./transport.contract.js";

const NO_FAULTS = { lossProbability: 0, duplicateProbability: 0, delayMsMax: 3, inFlightMax: 10_000 };

async function memoryHarness(): Promise<TransportHarness> {
  let nowMs = 0;
  const network = new MemoryNetwork({ rng: seededRng(7), ...NO_FAULTS });
  const opened: Transport[] = [];
  return {
    open: async () => {
      const transport = network.bind(() => nowMs);
      opened.push(transport);
      return transport;
    },
    pump: () => {
      nowMs += 1;
      network.deliverDue(nowMs);
    },
    drain: () => {
      nowMs += NO_FAULTS.delayMsMax + 1;
      network.deliverDue(nowMs);
    },
    teardown: async () => {
      await Promise.all(opened.map((transport) => transport.close()));
    },
  };
}

async function udpHarness(): Promise<TransportHarness> {
  const opened: Transport[] = [];
  return {
    open: async () => {
      const transport = await openUdpTransport({ host: "127.0.0.1", port: 0 });
      opened.push(transport);
      return transport;
    },
    pump: () => undefined,
    drain: () => undefined,
    teardown: async () => {
      await Promise.all(opened.map((transport) => transport.close()));
    },
  };
}

describeTransportContract("MemoryNetwork", memoryHarness);
describeTransportContract("UdpTransport (127.0.0.1)", udpHarness);

const SENDS = 2_000;

/** One receiver and one or more senders on a fresh network, time driven by the test. */
function makeNetwork(options: Omit<MemoryNetworkOptions, "rng">, seed = 1) {
  const clock = { nowMs: 0 };
  const network = new MemoryNetwork({ rng: seededRng(seed), ...options });
  const receiver = network.bind(() => clock.nowMs);
  const received: { datagram: Datagram; atMs: number }[] = [];
  receiver.onReceive((datagram) => received.push({ datagram, atMs: clock.nowMs }));
  /** Advances time by `ms`, delivering what falls due at each step. */
  const advance = (ms: number): void => {
    for (let i = 0; i < ms; i += 1) {
      clock.nowMs += 1;
      network.deliverDue(clock.nowMs);
    }
  };
  return { clock, network, receiver, received, advance };
}

/** Datagram i carries its index as 4 big-endian bytes. */
function indexBytes(i: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, i);
  return bytes;
}

function indexOf(datagram: Datagram): number {
  return new DataView(datagram.bytes.buffer, datagram.bytes.byteOffset, 4).getUint32(0);
}

/** Sends SENDS numbered datagrams, one per ms, then lets everything arrive. */
function sendNumbered(net: ReturnType<typeof makeNetwork>, options: { delayMsMax: number }): void {
  const sender = net.network.bind(() => net.clock.nowMs);
  for (let i = 0; i < SENDS; i += 1) {
    sender.send(net.receiver.local, indexBytes(i));
    net.advance(1);
  }
  net.advance(options.delayMsMax + 1);
}

describe("MemoryNetwork fault model", () => {
  const faulty = { lossProbability: 0.2, duplicateProbability: 0.2, delayMsMax: 10, inFlightMax: 10_000 };

  /** A run with two senders, recorded as "time sender index" lines. */
  function run(seed: number): string[] {
    const net = makeNetwork(faulty, seed);
    const a = net.network.bind(() => net.clock.nowMs);
    const b = net.network.bind(() => net.clock.nowMs);
    for (let i = 0; i < 300; i += 1) {
      (i % 3 === 0 ? b : a).send(net.receiver.local, indexBytes(i));
      if (i % 2 === 0) net.advance(1);
    }
    net.advance(faulty.delayMsMax + 1);
    return net.received.map(({ datagram, atMs }) => `${atMs} ${datagram.from.port} ${indexOf(datagram)}`);
  }

  it("replays the identical delivery sequence for the same seed, and a different one for another seed", () => {
    const first = run(42);
    expect(first.length).toBeGreaterThan(100);
    expect(run(42)).toEqual(first);
    expect(run(43)).not.toEqual(first);
  });

  it("delivers nothing at loss 1.0 and counts every send as lost", () => {
    const net = makeNetwork({ lossProbability: 1, duplicateProbability: 0.5, delayMsMax: 5, inFlightMax: 100 });
    sendNumbered(net, { delayMsMax: 5 });
    expect(net.received).toEqual([]);
    expect(net.network.stats).toMatchObject({ sentCount: SENDS, lostCount: SENDS, deliveredCount: 0 });
    expect(net.network.inFlightCount).toBe(0);
  });

  it("loses and duplicates at the configured rates, and every copy that survives arrives", () => {
    const net = makeNetwork({ lossProbability: 0.1, duplicateProbability: 0.25, delayMsMax: 0, inFlightMax: 10_000 });
    sendNumbered(net, { delayMsMax: 0 });
    const { lostCount, duplicatedCount, deliveredCount } = net.network.stats;
    // Expected 200 ± 13 lost, and 450 ± 19 duplicated among the 1 800 survivors.
    expect(lostCount).toBeGreaterThan(130);
    expect(lostCount).toBeLessThan(270);
    expect(duplicatedCount).toBeGreaterThan(350);
    expect(duplicatedCount).toBeLessThan(550);
    expect(deliveredCount).toBe(SENDS - lostCount + duplicatedCount);
    expect(net.received.length).toBe(deliveredCount);
    const copies = new Map<number, number>();
    for (const { datagram } of net.received) copies.set(indexOf(datagram), (copies.get(indexOf(datagram)) ?? 0) + 1);
    expect(Math.max(...copies.values())).toBe(2);
    expect([...copies.values()].filter((count) => count === 2).length).toBe(duplicatedCount);
  });

  it("reorders only through delay: within delayMsMax of the send, and never with delayMsMax 0", () => {
    const ordered = makeNetwork({ lossProbability: 0, duplicateProbability: 0, delayMsMax: 0, inFlightMax: 10_000 });
    sendNumbered(ordered, { delayMsMax: 0 });
    expect(ordered.received.map(({ datagram }) => indexOf(datagram))).toEqual(
      Array.from({ length: SENDS }, (_, i) => i),
    );

    const delayMsMax = 10;
    const shuffled = makeNetwork({ lossProbability: 0, duplicateProbability: 0, delayMsMax, inFlightMax: 10_000 });
    sendNumbered(shuffled, { delayMsMax });
    expect(shuffled.received.length).toBe(SENDS);
    let overtakenCount = 0;
    let highest = -1;
    for (const { datagram, atMs } of shuffled.received) {
      const index = indexOf(datagram);
      // Datagram i is sent at time i and due within delayMsMax; deliverDue runs every ms from i + 1.
      expect(atMs).toBeGreaterThanOrEqual(index + 1);
      expect(atMs).toBeLessThanOrEqual(index + 1 + delayMsMax);
      if (index < highest) overtakenCount += 1;
      highest = Math.max(highest, index);
    }
    // With delays uniform on 0..10 and one send per ms, well over a third of datagrams are overtaken.
    expect(overtakenCount).toBeGreaterThan(SENDS * 0.2);
    expect(overtakenCount).toBeLessThan(SENDS * 0.95);
  });

  it("drops and counts sends beyond inFlightMax, and accepts again once delivered", () => {
    const net = makeNetwork({ lossProbability: 0, duplicateProbability: 0, delayMsMax: 0, inFlightMax: 5 });
    const sender = net.network.bind(() => net.clock.nowMs);
    for (let i = 0; i < 8; i += 1) sender.send(net.receiver.local, indexBytes(i));
    expect(net.network.inFlightCount).toBe(5);
    expect(net.network.stats.overflowCount).toBe(3);
    net.advance(1);
    expect(net.received.map(({ datagram }) => indexOf(datagram))).toEqual([0, 1, 2, 3, 4]);
    sender.send(net.receiver.local, indexBytes(8));
    net.advance(1);
    expect(net.received.length).toBe(6);
    expect(net.network.stats.overflowCount).toBe(3);
  });

  it("isolates an endpoint: it neither sends nor receives until released, and others are unaffected", () => {
    const net = makeNetwork({ lossProbability: 0, duplicateProbability: 0, delayMsMax: 0, inFlightMax: 100 });
    const isolated = net.network.bind(() => net.clock.nowMs);
    const other = net.network.bind(() => net.clock.nowMs);
    const receivedByIsolated: Datagram[] = [];
    isolated.onReceive((datagram) => receivedByIsolated.push(datagram));

    net.network.setIsolated(isolated.local, true);
    isolated.send(net.receiver.local, indexBytes(1));
    other.send(isolated.local, indexBytes(2));
    other.send(net.receiver.local, indexBytes(3));
    net.advance(1);
    expect(receivedByIsolated).toEqual([]);
    expect(net.received.map(({ datagram }) => indexOf(datagram))).toEqual([3]);
    expect(net.network.stats).toMatchObject({ lostCount: 1, unroutableCount: 1, deliveredCount: 1 });

    net.network.setIsolated(isolated.local, false);
    isolated.send(net.receiver.local, indexBytes(4));
    other.send(isolated.local, indexBytes(5));
    net.advance(1);
    expect(receivedByIsolated.map(indexOf)).toEqual([5]);
    expect(net.received.map(({ datagram }) => indexOf(datagram))).toEqual([3, 4]);
  });

  it("lets a port be bound again after close, and a second close of the old transport leaves it bound", async () => {
    const net = makeNetwork({ lossProbability: 0, duplicateProbability: 0, delayMsMax: 0, inFlightMax: 100 });
    const old = net.network.bind(() => net.clock.nowMs, "127.0.0.1", 4_000);
    expect(() => net.network.bind(() => net.clock.nowMs, "127.0.0.1", 4_000)).toThrow(/already bound/);
    await old.close();
    const successor = net.network.bind(() => net.clock.nowMs, "127.0.0.1", 4_000);
    const received: Datagram[] = [];
    successor.onReceive((datagram) => received.push(datagram));
    await old.close();
    old.onReceive(() => undefined);
    net.receiver.send(successor.local, indexBytes(9));
    net.advance(1);
    expect(received.map(indexOf)).toEqual([9]);
  });
});

describe("UdpTransport", () => {
  it("rejects with EADDRINUSE when the port is taken", async () => {
    const first = await openUdpTransport({ host: "127.0.0.1", port: 0 });
    try {
      await expect(openUdpTransport({ host: "127.0.0.1", port: first.local.port })).rejects.toMatchObject({
        code: "EADDRINUSE",
      });
    } finally {
      await first.close();
    }
  });
});

describe("UdpTransport addressing", () => {
  /** Resolves once `transport` has received `count` datagrams, or rejects after a bound. */
  function received(transport: Transport, count: number): Promise<string[]> {
    const texts: string[] = [];
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${texts.length} of ${count} datagrams arrived`)), 5_000);
      transport.onReceive(({ bytes }) => {
        texts.push(new TextDecoder().decode(bytes));
        if (texts.length === count) {
          clearTimeout(timer);
          resolve(texts);
        }
      });
    });
  }

  it("sends to an IP literal at once and still resolves a name such as localhost", async () => {
    const sender = await openUdpTransport({ host: "127.0.0.1", port: 0 });
    const receiver = await openUdpTransport({ host: "127.0.0.1", port: 0 });
    try {
      const arrived = received(receiver, 2);
      sender.send({ host: "127.0.0.1", port: receiver.local.port }, new TextEncoder().encode("literal"));
      sender.send({ host: "localhost", port: receiver.local.port }, new TextEncoder().encode("name"));
      expect((await arrived).sort()).toEqual(["literal", "name"]);
      expect(sender.stats.sendErrorCount).toBe(0);
    } finally {
      await Promise.all([sender.close(), receiver.close()]);
    }
  });
});
