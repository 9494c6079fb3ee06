/**
 * Reads a whole text file for a user-facing loader (config, topology, load files): a failure comes
 * back as one readable reason instead of a raw errno, so each loader can word its own error.
 */
import { readFileSync } from "node:fs";

/** The file's text, or why it could not be read ("no such file", "permission denied", ...). */
export type ReadTextResult = { ok: true; text: string } | { ok: false; why: string; error: unknown };

const REASON_BY_CODE: Readonly<Record<string, string>> = {
  ENOENT: "no such file",
  EACCES: "permission denied",
  EISDIR: "it is a directory",
};

/** Reads `path` as UTF-8; never throws. */
export function readTextFile(path: string): ReadTextResult {
  try {
    return { ok: true, text: readFileSync(path, "utf8") };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = (code === undefined ? undefined : REASON_BY_CODE[code]) ?? String(code ?? error);
    return { ok: false, why, error };
  }
}
