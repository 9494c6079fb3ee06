/**
 * The auth envelope (docs/PROTOCOL.md, "Authenticated datagrams"): every datagram of a cluster with
 * a key file is
 *
 *     0xA5 | version 1 | keyIdLength | keyId | senderId (8) | counter (6) | timeMs (6) | payload | tag (32)
 *
 * where the tag is HMAC-SHA256 under the key `keyId` over every byte before it, and the payload is
 * the plain datagram (one packet or a batch frame). Integers are big-endian. Pure apart from the
 * hash: sealing takes the counter and time from the caller, opening checks the tag only (the replay
 * guard decides freshness). Opening never throws on remote input.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

import { DATAGRAM_BYTES_MAX } from "../protocol/limits.js";
import { assert } from "../runtime/assert.js";
import { KEY_ID_CHARS_MAX, type Keyring } from "./keyring.js";

/** First byte of a sealed datagram; a plain packet starts with `{` (0x7B), so the two never mix. */
export const ENVELOPE_MAGIC = 0xa5;
/** Envelope layout version. */
export const ENVELOPE_VERSION = 1;
/** Bytes of the sender id: random per process start, so a restart starts a fresh replay window. */
export const SENDER_ID_BYTES = 8;
/** Bytes of the counter and of the timestamp (48-bit unsigned each). */
export const COUNTER_BYTES = 6;
export const TIME_BYTES = 6;
/** Bytes of the HMAC-SHA256 tag. */
export const TAG_BYTES = 32;
/** Largest counter (2^48 - 1): at a million datagrams a second, nine years. */
export const COUNTER_MAX = 2 ** 48 - 1;

const FIXED_BYTES = 3 + SENDER_ID_BYTES + COUNTER_BYTES + TIME_BYTES + TAG_BYTES;
/** Most bytes the envelope adds to a payload. */
export const ENVELOPE_BYTES_MAX = FIXED_BYTES + KEY_ID_CHARS_MAX;
/** Largest sealed datagram: the largest payload plus the envelope. */
export const SEALED_BYTES_MAX = DATAGRAM_BYTES_MAX + ENVELOPE_BYTES_MAX;

/** What the sender stamps on one datagram. */
export interface SealStamp {
  readonly senderId: Uint8Array;
  readonly counter: number;
  readonly timeMs: number;
}

/** Wraps `payload` in an envelope tagged with the keyring's active key. */
export function seal(keyring: Keyring, stamp: SealStamp, payload: Uint8Array): Buffer {
  const secret = keyring.keys.get(keyring.activeId);
  assert(secret !== undefined, "the active key is in the keyring");
  assert(stamp.senderId.length === SENDER_ID_BYTES, "sender id has SENDER_ID_BYTES bytes");
  assert(Number.isSafeInteger(stamp.counter) && stamp.counter >= 0 && stamp.counter <= COUNTER_MAX, "counter fits");
  const keyIdLength = Buffer.byteLength(keyring.activeId, "latin1");
  const headerBytes = 3 + keyIdLength + SENDER_ID_BYTES + COUNTER_BYTES + TIME_BYTES;
  const out = Buffer.allocUnsafe(headerBytes + payload.length + TAG_BYTES);
  out[0] = ENVELOPE_MAGIC;
  out[1] = ENVELOPE_VERSION;
  out[2] = keyIdLength;
  let offset = 3 + out.write(keyring.activeId, 3, "latin1");
  out.set(stamp.senderId, offset);
  offset += SENDER_ID_BYTES;
  out.writeUIntBE(stamp.counter, offset, COUNTER_BYTES);
  offset += COUNTER_BYTES;
  out.writeUIntBE(Math.max(0, Math.min(COUNTER_MAX, Math.floor(stamp.timeMs))), offset, TIME_BYTES);
  offset += TIME_BYTES;
  out.set(payload, offset);
  offset += payload.length;
  createHmac("sha256", secret).update(out.subarray(0, offset)).digest().copy(out, offset);
  return out;
}

/** An envelope whose tag verified. `payload` is a view into the received bytes (no copy). */
export interface OpenedEnvelope {
  readonly ok: true;
  readonly keyId: string;
  /** The sender id as a 16-char hex string (a map key). */
  readonly sender: string;
  readonly counter: number;
  readonly timeMs: number;
  readonly payload: Uint8Array;
}

/** Why an envelope was refused before any state was looked at. */
export type OpenFailure = { readonly ok: false; readonly reason: "auth"; readonly detail: OpenFailureDetail };
export type OpenFailureDetail = "not_sealed" | "too_short" | "too_long" | "unknown_key" | "bad_tag";

/** Checks the layout and the tag under the key the envelope names; never throws. */
export function open(keyring: Keyring, bytes: Uint8Array): OpenedEnvelope | OpenFailure {
  if (bytes.length < 1 || bytes[0] !== ENVELOPE_MAGIC || bytes[1] !== ENVELOPE_VERSION) return refuse("not_sealed");
  if (bytes.length > SEALED_BYTES_MAX) return refuse("too_long");
  const keyIdLength = bytes[2] ?? 0;
  const headerBytes = 3 + keyIdLength + SENDER_ID_BYTES + COUNTER_BYTES + TIME_BYTES;
  if (keyIdLength === 0 || keyIdLength > KEY_ID_CHARS_MAX || bytes.length < headerBytes + TAG_BYTES)
    return refuse("too_short");
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const keyId = view.toString("latin1", 3, 3 + keyIdLength);
  const secret = keyring.keys.get(keyId);
  if (secret === undefined) return refuse("unknown_key");
  const tagOffset = bytes.length - TAG_BYTES;
  const expected = createHmac("sha256", secret).update(view.subarray(0, tagOffset)).digest();
  if (!timingSafeEqual(expected, view.subarray(tagOffset))) return refuse("bad_tag");
  let offset = 3 + keyIdLength;
  const sender = view.toString("hex", offset, offset + SENDER_ID_BYTES);
  offset += SENDER_ID_BYTES;
  const counter = view.readUIntBE(offset, COUNTER_BYTES);
  offset += COUNTER_BYTES;
  const timeMs = view.readUIntBE(offset, TIME_BYTES);
  offset += TIME_BYTES;
  return { ok: true, keyId, sender, counter, timeMs, payload: view.subarray(offset, tagOffset) };
}

function refuse(detail: OpenFailureDetail): OpenFailure {
  return { ok: false, reason: "auth", detail };
}
