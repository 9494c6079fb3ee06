#!/usr/bin/env node
// Health probe for containers and units: asks the dispatcher at HOST:PORT (default 127.0.0.1:5555)
// for a rebalancing round and exits 0 when any answer comes back within 2 s, else 1. Outside overlay
// mode the dispatcher answers `no_overlay` at once and changes nothing; it proves the process reads
// and answers UDP, which a port check cannot.
import { randomUUID } from "node:crypto";
import { createSocket } from "node:dgram";

const [host, port] = (process.argv[2] ?? "127.0.0.1:5555").split(":");
const socket = createSocket("udp4");
const requestId = randomUUID();
const timer = setTimeout(() => {
  process.stderr.write(`no answer from the dispatcher at ${host}:${port} within 2 s\n`);
  process.exit(1);
}, 2_000);
socket.on("message", (bytes) => {
  if (bytes.toString("utf8").includes(requestId)) {
    clearTimeout(timer);
    socket.close();
    process.exit(0);
  }
});
socket.bind(0, () => {
  // Padded: the dispatcher never answers a source with more bytes than it sent (no amplification).
  const packet = { v: 1, type: "admin.rebalance", from: "health-probe", requestId, pad: " ".repeat(2_048) };
  socket.send(Buffer.from(JSON.stringify(packet)), Number(port), host);
});
