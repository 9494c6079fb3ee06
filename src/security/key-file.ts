/**
 * Loads a key file from disk with the checks SPEC section 10 asks for: it exists, is readable, a
 * regular file, readable by its owner only (no group or world bits), and parses. Every problem
 * becomes a ConfigError whose message names the file and the problem (the CLI exits 2 with it).
 */
import { readFileSync, statSync } from "node:fs";

import { ConfigError } from "../config/load.js";
import { type Keyring, parseKeyring } from "./keyring.js";

/** Largest key file we read, in bytes (16 keys of 1 KiB in base64 fit easily). */
export const KEY_FILE_BYTES_MAX = 64 * 1024;

/** Reads and checks `path`; throws ConfigError naming the file and the problem. */
export function loadKeyFile(path: string): Keyring {
  const fail = (problem: string, cause?: unknown): never => {
    throw new ConfigError(
      `Key file ${path}: ${problem}. See docs/SECURITY.md for the format and how to make one.`,
      cause === undefined ? undefined : { cause },
    );
  };
  let stats: ReturnType<typeof statSync>;
  try {
    stats = statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return fail(code === "ENOENT" ? "it does not exist" : `it cannot be examined (${code ?? String(error)})`, error);
  }
  if (!stats.isFile()) return fail("it is not a regular file");
  if ((stats.mode & 0o077) !== 0)
    return fail(
      `it is readable or writable by group or others (mode ${(stats.mode & 0o777).toString(8)}); run: chmod 600 ${path}`,
    );
  if (stats.size > KEY_FILE_BYTES_MAX) return fail(`it is ${stats.size} bytes; at most ${KEY_FILE_BYTES_MAX}`);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return fail(`it cannot be read (${code === "EACCES" ? "permission denied" : (code ?? String(error))})`, error);
  }
  const parsed = parseKeyring(text);
  if (!parsed.ok) return fail(parsed.problem);
  return parsed.keyring;
}
