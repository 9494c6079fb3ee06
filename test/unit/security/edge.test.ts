/**
 * Goal: the edge accepts exactly the authentic, fresh datagrams: sealed payloads arrive intact
 * (batch frames too, as one datagram), forged, tampered, truncated, unknown-key, unsealed and
 * replayed datagrams are dropped and counted by reason without moving any state, a restarted sender
 * is accepted at once, rotation works (a listed old key still verifies), and the token bucket and the
 * source filter shed before the HMAC.
 * Method: two EdgeTransports over a stub wire that records and hands over bytes; time is a variable.
 */
import { describe, expect, it } from "vitest";

import { type EdgeOptions, EdgeTransport } from "../../../src/security/edge-transport.js";
import { TAG_BYTES } from "../../../src/security/envelope.js";
import type { Keyring } from "../../../src/security/keyring.js";
import type { Datagram, Endpoint, Transport } from "../../../src/transport/transport.js";

const A: Endpoint = { host: "127.0.0.1", port: 1 };
const B: Endpoint = { host: "127.0.0.1", port: 2 };

function ring(active: string, ...ids: string[]): Keyring {
  return { keys: new Map(ids.map((id) => [id, Buffer.alloc(32, id.charCodeAt(0))])), activeId: active };
}

/** A transport that records what it sends and lets the test inject received datagrams. */
class Wire implements Transport {
  readonly sent: Uint8Array[] = [];
  receive: ((datagram: Datagram) => void) | undefined;
  readonly local: Endpoint;
  constructor(local: Endpoint) {
    this.local = local;
  }
  send(_to: Endpoint, bytes: Uint8Array): void {
    this.sent.push(Uint8Array.from(bytes));
  }
  onReceive(handler: (datagram: Datagram) => void): void {
    this.receive = handler;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const wallMs = 1_700_000_000_000;
function edge(local: Endpoint, keyring: Keyring | undefined, extra: Partial<EdgeOptions> = {}, id = 1) {
  const wire = new Wire(local);
  const transport = new EdgeTransport(wire, {
    keyring,
    wallMs: () => wallMs,
    nowMs: () => 0,
    senderId: new Uint8Array(8).fill(id),
    ...extra,
  });
  const got: string[] = [];
  transport.onReceive(({ bytes }) => got.push(Buffer.from(bytes).toString()));
  return { wire, transport, got, deliver: (bytes: Uint8Array, from = A) => wire.receive?.({ from, bytes }) };
}

const text = (s: string): Uint8Array => Buffer.from(s);

describe("EdgeTransport with a key", () => {
  it("delivers sealed payloads intact and refuses every replay of them", () => {
    const sender = edge(A, ring("k", "k"));
    const receiver = edge(B, ring("k", "k"));
    sender.transport.send(B, text('{"one":1}'));
    sender.transport.send(B, text('{"batch":[1,2,3]}'));
    const [first, second] = sender.wire.sent as [Uint8Array, Uint8Array];
    receiver.deliver(second);
    receiver.deliver(first);
    receiver.deliver(first);
    receiver.deliver(second);
    expect(receiver.got).toEqual(['{"batch":[1,2,3]}', '{"one":1}']);
    expect(receiver.transport.stats.dropped).toEqual({ rate: 0, source: 0, auth: 0, replay: 2 });
  });

  it("drops forged, tampered, truncated, unsealed and unknown-key datagrams as auth, without state change", () => {
    const sender = edge(A, ring("k", "k"));
    const forger = edge(A, ring("k", "x"), {}, 1);
    // The forger uses the key id "k" with a secret it guessed.
    const forgerRing: Keyring = { keys: new Map([["k", Buffer.alloc(32, 9)]]), activeId: "k" };
    forger.transport.keyring = forgerRing;
    const receiver = edge(B, ring("k", "k"));
    sender.transport.send(B, text('{"ok":1}'));
    forger.transport.send(B, text('{"evil":1}'));
    const good = sender.wire.sent[0] as Uint8Array;
    const tampered = Uint8Array.from(good);
    const at = tampered.length - TAG_BYTES - 2;
    tampered[at] = (tampered[at] as number) ^ 1;
    const unknownKey = edge(A, ring("zz", "zz"));
    unknownKey.transport.send(B, text("{}"));
    receiver.deliver(forger.wire.sent[0] as Uint8Array);
    receiver.deliver(tampered);
    receiver.deliver(good.subarray(0, 20));
    receiver.deliver(text('{"v":1,"type":"task.submit"}'));
    receiver.deliver(unknownKey.wire.sent[0] as Uint8Array);
    receiver.deliver(new Uint8Array(0));
    expect(receiver.got).toEqual([]);
    expect(receiver.transport.stats.dropped.auth).toBe(6);
    // None of them touched the replay window: the genuine datagram with the same counter still passes.
    receiver.deliver(good);
    expect(receiver.got).toEqual(['{"ok":1}']);
  });

  it("accepts a restarted sender at once (new sender id, counter from 1 again)", () => {
    const receiver = edge(B, ring("k", "k"));
    const before = edge(A, ring("k", "k"), {}, 1);
    before.transport.send(B, text("{}"));
    receiver.deliver(before.wire.sent[0] as Uint8Array);
    const after = edge(A, ring("k", "k"), {}, 2);
    after.transport.send(B, text('{"again":1}'));
    receiver.deliver(after.wire.sent[0] as Uint8Array);
    receiver.deliver(before.wire.sent[0] as Uint8Array);
    expect(receiver.got).toEqual(["{}", '{"again":1}']);
    expect(receiver.transport.stats.dropped.replay).toBe(1);
  });

  it("rotates: add, activate, remove, with no datagram lost between peers on either side of a step", () => {
    const sender = edge(A, ring("old", "old"));
    const receiver = edge(B, ring("old", "old"));
    const step = (senderRing: Keyring, receiverRing: Keyring, body: string): void => {
      sender.transport.keyring = senderRing;
      receiver.transport.keyring = receiverRing;
      sender.transport.send(B, text(body));
      receiver.deliver(sender.wire.sent.at(-1) as Uint8Array);
    };
    step(ring("old", "old"), ring("old", "old", "new"), "1"); // receiver reloaded first: step 1
    step(ring("old", "old", "new"), ring("old", "old", "new"), "2");
    step(ring("new", "old", "new"), ring("old", "old", "new"), "3"); // step 2 half done
    step(ring("new", "old", "new"), ring("new", "old", "new"), "4");
    step(ring("new", "new"), ring("new", "old", "new"), "5"); // step 3 half done
    step(ring("new", "new"), ring("new", "new"), "6");
    expect(receiver.got).toEqual(["1", "2", "3", "4", "5", "6"]);
    step(ring("old", "old"), ring("new", "new"), "7"); // a removed key no longer verifies
    expect(receiver.got).toHaveLength(6);
    expect(receiver.transport.stats.dropped.auth).toBe(1);
  });

  it("does not take a sealed datagram when auth is off, nor a plain one when it is on", () => {
    const plain = edge(B, undefined);
    const sealed = edge(A, ring("k", "k"));
    sealed.transport.send(B, text("{}"));
    plain.deliver(sealed.wire.sent[0] as Uint8Array);
    // Without a key the edge passes bytes through; the decoder refuses the envelope as not JSON.
    expect(plain.got).toHaveLength(1);
    expect(plain.got[0]?.startsWith("{")).toBe(false);
  });
});

describe("EdgeTransport shedding", () => {
  it("charges each source its own bucket before any HMAC work", () => {
    const receiver = edge(B, undefined, { limiter: { ratePerS: 1, burst: 3, sourcesMax: 8 } });
    for (let i = 0; i < 10; i += 1) receiver.deliver(text("{}"), A);
    receiver.deliver(text("{}"), B);
    expect(receiver.got).toHaveLength(4);
    expect(receiver.transport.stats.dropped.rate).toBe(7);
  });

  it("drops datagrams from sources it does not talk to", () => {
    const receiver = edge(B, undefined, { acceptFrom: (from) => from.port === 1 });
    receiver.deliver(text("{}"), A);
    receiver.deliver(text("{}"), B);
    expect(receiver.got).toHaveLength(1);
    expect(receiver.transport.stats.dropped.source).toBe(1);
  });
});

describe("edgeCost", () => {
  it("charges large datagrams more, so a flood of them is shed as early as one of small ones", async () => {
    const { edgeCost } = await import("../../../src/security/source-limiter.js");
    expect(edgeCost(100)).toBe(1);
    expect(edgeCost(1_024)).toBe(2);
    expect(edgeCost(16_384 + 100)).toBe(17);
    const receiver = edge(B, undefined, { limiter: { ratePerS: 1, burst: 20, sourcesMax: 8 } });
    receiver.deliver(new Uint8Array(10_240), A); // cost 11
    receiver.deliver(new Uint8Array(10_240), A); // refused: 9 left
    receiver.deliver(text("{}"), A);
    expect(receiver.transport.stats.dropped.rate).toBe(1);
    expect(receiver.got).toHaveLength(2);
  });
});
