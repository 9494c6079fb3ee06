/**
 * Reading topology and loads files for the CLIs. Every failure becomes an {@link OverlayFileError}
 * whose message is one readable paragraph naming the file and the problem (exit code 2 upstream).
 */

import { readTextFile } from "../runtime/read-text-file.js";
import { describeIssues, LoadsFile, parseTopology, type Topology } from "./tree.js";

/** A user error in an overlay file: printed as one paragraph, exit code 2, no stack trace. */
export class OverlayFileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "OverlayFileError";
  }
}

/** Reads and parses a JSON file; a missing file or bad JSON is an OverlayFileError. */
export function readJsonFile(path: string, what: string): unknown {
  const read = readTextFile(path);
  if (!read.ok) throw new OverlayFileError(`Cannot read ${what} file ${path}: ${read.why}.`, { cause: read.error });
  const text = read.text;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new OverlayFileError(`${capitalize(what)} file ${path} is not valid JSON: ${(error as Error).message}.`, {
      cause: error,
    });
  }
}

/** Loads and validates a topology file (SPEC.md section 7). */
export function loadTopologyFile(path: string, options: { requireTree?: boolean } = {}): Topology {
  const parsed = parseTopology(readJsonFile(path, "topology"), options);
  if (parsed.ok) return parsed.topology;
  const detail = parsed.error.message.replace(/\s*\n\s*/g, " ").replace(/[.\s]+$/, "");
  throw new OverlayFileError(`Invalid topology in ${path}: ${detail}.`);
}

/** Loads a loads file (`{"a": 7}`) and checks every id is a node of `topology`. */
export function loadLoadsFile(path: string, topology: Topology): Record<string, number> {
  const parsed = LoadsFile.safeParse(readJsonFile(path, "loads"));
  if (!parsed.success) {
    throw new OverlayFileError(`Invalid loads in ${path}: ${describeIssues(parsed.error)}.`);
  }
  const unknown = Object.keys(parsed.data).filter((id) => topology.indexOf(id) === undefined);
  if (unknown.length > 0) {
    const shown = unknown
      .slice(0, 10)
      .map((id) => `"${id}"`)
      .join(", ");
    throw new OverlayFileError(`Invalid loads in ${path}: not nodes of the topology: ${shown}.`);
  }
  return parsed.data;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
