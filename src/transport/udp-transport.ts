/**
 * The real transport: one node:dgram socket. This is the ONLY file that imports node:dgram.
 * It binds before resolving, so `local.port` is real even for port 0, sets both socket buffers
 * explicitly, and counts failed sends instead of throwing.
 */
import { createSocket, type Socket, type SocketOptions } from "node:dgram";
import { lookup as dnsLookup } from "node:dns";
import { isIP, isIPv6 } from "node:net";

import type { Datagram, Endpoint, Transport } from "./transport.js";

/** Options of {@link openUdpTransport}. */
export interface UdpTransportOptions {
  readonly host: string;
  readonly port: number;
  /** Kernel receive buffer in bytes; large enough for bursts of a thousand small datagrams. */
  readonly recvBufferBytes?: number;
  readonly sendBufferBytes?: number;
}

/** Counters of the UDP layer, for metrics. */
export interface UdpTransportStats {
  sentCount: number;
  sendErrorCount: number;
  receivedCount: number;
}

/** A bound UDP socket implementing {@link Transport}. */
export interface UdpTransport extends Transport {
  readonly stats: UdpTransportStats;
}

const RECV_BUFFER_BYTES_DEFAULT = 4 * 1024 * 1024;
const SEND_BUFFER_BYTES_DEFAULT = 4 * 1024 * 1024;

/**
 * dgram resolves the destination of every send through `lookup`. The default, dns.lookup, answers an
 * IP literal only on the next tick, which costs a tick, a closure and a deferred send per datagram on
 * the hot path. This answers a literal at once and still resolves a name (a docker-compose service
 * name, `localhost`) through dns.lookup.
 */
const lookupLiteralAtOnce: NonNullable<SocketOptions["lookup"]> = (hostname, options, callback) => {
  const family = isIP(hostname);
  if (family === 0) dnsLookup(hostname, options, callback);
  else callback(null, hostname, family);
};

/** Binds a UDP socket; rejects with the OS error (EADDRINUSE, EACCES, ...) when binding fails. */
export function openUdpTransport(options: UdpTransportOptions): Promise<UdpTransport> {
  const socket: Socket = createSocket({
    type: isIPv6(options.host) ? "udp6" : "udp4",
    reuseAddr: false,
    recvBufferSize: options.recvBufferBytes ?? RECV_BUFFER_BYTES_DEFAULT,
    sendBufferSize: options.sendBufferBytes ?? SEND_BUFFER_BYTES_DEFAULT,
    lookup: lookupLiteralAtOnce,
  });
  return new Promise((resolve, reject) => {
    const onBindError = (error: Error): void => {
      socket.close();
      reject(error);
    };
    socket.once("error", onBindError);
    socket.bind({ address: options.host, port: options.port, exclusive: true }, () => {
      socket.off("error", onBindError);
      resolve(wrapSocket(socket));
    });
  });
}

function wrapSocket(socket: Socket): UdpTransport {
  const address = socket.address();
  const stats: UdpTransportStats = { sentCount: 0, sendErrorCount: 0, receivedCount: 0 };
  let handler: ((datagram: Datagram) => void) | undefined;
  let isClosed = false;
  // Runtime socket errors (e.g. ICMP port unreachable on some systems) must not crash a daemon.
  socket.on("error", () => {
    stats.sendErrorCount += 1;
  });
  socket.on("message", (message, rinfo) => {
    stats.receivedCount += 1;
    handler?.({ from: { host: rinfo.address, port: rinfo.port }, bytes: message });
  });
  const onSent = (error: Error | null): void => {
    if (error) stats.sendErrorCount += 1;
  };
  return {
    local: { host: address.address, port: address.port },
    stats,
    send(to: Endpoint, bytes: Uint8Array): void {
      if (isClosed) return;
      stats.sentCount += 1;
      try {
        // Copy: for a name, dgram reads the buffer only after the address lookup, and libuv holds a
        // send it could not write at once, so without the copy a caller reusing its buffer after
        // send() returns could change what goes on the wire. Buffer.from copies small datagrams into
        // Node's shared pool instead of allocating an ArrayBuffer per send (Uint8Array#slice), and
        // always copies (Buffer#slice would not).
        socket.send(Buffer.from(bytes), to.port, to.host, onSent);
      } catch {
        stats.sendErrorCount += 1;
      }
    },
    onReceive(next: (datagram: Datagram) => void): void {
      handler = next;
    },
    close(): Promise<void> {
      if (isClosed) return Promise.resolve();
      isClosed = true;
      return new Promise((resolve) => socket.close(() => resolve()));
    },
  };
}
