/**
 * Goal: overlay peers given by name (as in docker compose) are resolved to addresses at start, since
 * an overlay node checks senders by the address their datagrams come from; a name that does not
 * resolve is a user error naming the peer.
 * Method: `localhost` (resolved by the OS without any network) and a reserved invalid name.
 */
import { describe, expect, it } from "vitest";

import { resolvePeers } from "../../../src/cli/calculator.js";

describe("resolvePeers", () => {
  it("keeps IP addresses and resolves names to IPv4 addresses", async () => {
    const peers = new Map([
      ["a", { host: "127.0.0.1", port: 7001 }],
      ["b", { host: "localhost", port: 7002 }],
    ]);
    const resolved = await resolvePeers(peers);
    expect(resolved.get("a")).toEqual({ host: "127.0.0.1", port: 7001 });
    expect(resolved.get("b")).toEqual({ host: "127.0.0.1", port: 7002 });
  });

  it("names the peer whose host does not resolve", async () => {
    const peers = new Map([["c", { host: "no-such-host.invalid", port: 7003 }]]);
    await expect(resolvePeers(peers)).rejects.toThrow(/overlay peer c at no-such-host\.invalid/);
  });
});
