/**
 * Wire limits, with units last. Every number here is part of the external contract (SPEC.md
 * sections 4 and 6) or bounds what a peer can make us allocate; docs/LIMITS.md lists them all.
 */

/** Version literal carried by every packet as `v`; a different value is dropped as `wrong_version`. */
export const PROTOCOL_VERSION = 1;

/**
 * Largest datagram we send or accept, in bytes. Well under the 65 507-byte UDP payload limit and
 * the default socket buffers, so a datagram is never truncated by the kernel or split unexpectedly.
 */
export const DATAGRAM_BYTES_MAX = 16_384;

/**
 * Most packets in one `batch` frame. A frame is also bounded by DATAGRAM_BYTES_MAX, which holds
 * about 100 task packets; this caps what a frame of tiny packets can make a receiver loop over.
 */
export const BATCH_PACKETS_MAX = 256;

/** Longest daemon name (`from`, calculator ids), in characters. */
export const NODE_ID_CHARS_MAX = 64;

/** Longest task input, in characters (SPEC.md section 4). */
export const INPUT_CHARS_MAX = 256;

/** Largest `rounds` of a task (SPEC.md section 4). */
export const ROUNDS_MAX = 1_000_000;

/**
 * Largest per-task `deadlineMs` a submit may carry (one day). The dispatcher caps it further at its
 * queueTimeoutMs (SPEC.md section 8); this bound only keeps the field a sane integer on the wire.
 */
export const DEADLINE_MS_MAX = 86_400_000;

/** Longest failure reason code, in characters. */
export const REASON_CHARS_MAX = 64;

/** A SHA-256 result in lowercase hex is always this long. */
export const RESULT_HEX_CHARS = 64;

/** Largest capacity a calculator may announce (parallel tasks). */
export const CAPACITY_MAX = 1_024;
