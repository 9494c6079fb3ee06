/**
 * Best-effort datagrams, nothing more: no retries, no ordering, no buffering on our behalf.
 * UdpTransport and MemoryNetwork both pass test/contract/transport.contract.ts. Peers are addressed
 * by the source address of their datagrams, so the cluster works behind NAT and through a proxy.
 */

/** A UDP address. `host` is an IP literal or a name the OS resolves. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** One received datagram and where it came from. */
export interface Datagram {
  readonly from: Endpoint;
  readonly bytes: Uint8Array;
}

/** Sends and receives datagrams on one local address. */
export interface Transport {
  readonly local: Endpoint;
  /** Fire and forget. A failed send is counted by the implementation, never thrown. */
  send(to: Endpoint, bytes: Uint8Array): void;
  /** Exactly one receiver. Handlers must not block: decode, hand off, return. */
  onReceive(handler: (datagram: Datagram) => void): void;
  close(): Promise<void>;
}

/** `host:port`, the canonical key of an endpoint in maps and logs. */
export function endpointKey(endpoint: Endpoint): string {
  return endpoint.host.includes(":") ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`;
}

/** True when both name the same address. */
export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.host === b.host && a.port === b.port;
}
