/**
 * Reads a JSON config file, applies defaults, and validates it. Failures become a ConfigError whose
 * message is one readable paragraph naming the file, the key and what is wrong (exit code 2).
 */

import type * as z from "zod";

import { readTextFile } from "../runtime/read-text-file.js";

/** A user error in a config file or flag: printed as one paragraph, exit code 2, no stack trace. */
export class ConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ConfigError";
  }
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const key = issue.path.length === 0 ? "(top level)" : issue.path.join(".");
  if (issue.code === "unrecognized_keys") {
    const prefix = issue.path.length === 0 ? "" : `${key}.`;
    return `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${prefix}${k}"`).join(", ")}`;
  }
  return `key "${key}": ${issue.message}`;
}

/** Validates `raw` against `schema`; throws ConfigError naming `source` and each bad key. */
export function parseConfig<S extends z.ZodType>(schema: S, raw: unknown, source: string): z.infer<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map(describeIssue).join("; ");
  throw new ConfigError(`Invalid configuration in ${source}: ${problems}.`);
}

/** Reads and validates a JSON config file; a missing file or bad JSON is a ConfigError too. */
export function loadConfigFile<S extends z.ZodType>(schema: S, path: string | undefined): z.infer<S> {
  if (path === undefined) return parseConfig(schema, {}, "the built-in defaults");
  const read = readTextFile(path);
  if (!read.ok) throw new ConfigError(`Cannot read config file ${path}: ${read.why}.`, { cause: read.error });
  const text = read.text;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`Config file ${path} is not valid JSON: ${(error as Error).message}.`, { cause: error });
  }
  return parseConfig(schema, raw, path);
}

/** Parses `host:port` (IPv6 as `[::1]:5555`) from a flag; throws ConfigError naming the flag. */
export function parseHostPort(value: string, flag: string): { host: string; port: number } {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(value) ?? /^([^:]+):(\d+)$/.exec(value);
  const port = match === null ? Number.NaN : Number(match[2]);
  if (match === null || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new ConfigError(`Flag ${flag} expects HOST:PORT (for example 127.0.0.1:5555), got "${value}".`);
  }
  return { host: match[1] as string, port };
}
