/**
 * The key file (SPEC section 10): `{"keys": {"<keyId>": "<base64 secret>"}, "active": "<keyId>"}`.
 * Parsing is pure and returns a readable problem instead of throwing; {@link loadKeyFile} (in
 * key-file.ts) adds the file checks. A Keyring is immutable: a reload builds a new one, so a file
 * that fails to load leaves the running keys untouched.
 */

/** Shortest secret, in bytes (SPEC section 10): HMAC-SHA256 wants at least its output size. */
export const KEY_SECRET_BYTES_MIN = 32;
/** Longest secret, in bytes (HMAC hashes a longer key down to 32 bytes anyway). */
export const KEY_SECRET_BYTES_MAX = 1_024;
/** Most keys in one file: rotation needs two; a few more leave room for staged keys. */
export const KEYS_MAX = 16;
/** Longest key id, in characters; it travels in every datagram. */
export const KEY_ID_CHARS_MAX = 32;

const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,32}$/;
const BASE64_PATTERN = /^[A-Za-z0-9+/]*={0,2}$/;

/** Keys by id and the one outbound datagrams are tagged with. */
export interface Keyring {
  readonly keys: ReadonlyMap<string, Buffer>;
  readonly activeId: string;
}

/** A parsed key file, or why not. */
export type KeyringParse = { ok: true; keyring: Keyring } | { ok: false; problem: string };

/** Parses key file text; never throws. */
export function parseKeyring(text: string): KeyringParse {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: `it is not valid JSON (${(error as Error).message})` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return { ok: false, problem: 'it must be a JSON object {"keys": {...}, "active": "<keyId>"}' };
  const record = value as Record<string, unknown>;
  const extra = Object.keys(record).filter((key) => key !== "keys" && key !== "active");
  if (extra.length > 0) return { ok: false, problem: `unknown field "${extra[0]}" (only "keys" and "active")` };
  const rawKeys = record["keys"];
  if (typeof rawKeys !== "object" || rawKeys === null || Array.isArray(rawKeys))
    return { ok: false, problem: '"keys" must be an object of keyId -> base64 secret' };
  const entries = Object.entries(rawKeys as Record<string, unknown>);
  if (entries.length === 0) return { ok: false, problem: '"keys" is empty' };
  if (entries.length > KEYS_MAX)
    return { ok: false, problem: `"keys" has ${entries.length} keys; at most ${KEYS_MAX}` };
  const keys = new Map<string, Buffer>();
  for (const [id, secret] of entries) {
    const parsed = parseEntry(id, secret);
    if (typeof parsed === "string") return { ok: false, problem: parsed };
    keys.set(id, parsed);
  }
  const active = record["active"];
  if (typeof active !== "string") return { ok: false, problem: '"active" must name one of the keys' };
  if (!keys.has(active)) return { ok: false, problem: `"active" is "${active}", which is not in "keys"` };
  return { ok: true, keyring: { keys, activeId: active } };
}

function parseEntry(id: string, secret: unknown): Buffer | string {
  if (!KEY_ID_PATTERN.test(id))
    return `key id "${id.slice(0, 40)}" must be 1 to ${KEY_ID_CHARS_MAX} of letters, digits and . _ -`;
  if (typeof secret !== "string" || !BASE64_PATTERN.test(secret) || secret.length % 4 !== 0)
    return `the secret of key "${id}" must be a base64 string (e.g. from: openssl rand -base64 32)`;
  const bytes = Buffer.from(secret, "base64");
  if (bytes.length < KEY_SECRET_BYTES_MIN)
    return `the secret of key "${id}" is ${bytes.length} bytes; it must be at least ${KEY_SECRET_BYTES_MIN}`;
  if (bytes.length > KEY_SECRET_BYTES_MAX)
    return `the secret of key "${id}" is ${bytes.length} bytes; at most ${KEY_SECRET_BYTES_MAX}`;
  return bytes;
}
