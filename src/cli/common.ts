/**
 * What every command shares: the common flags, turning user errors into one readable paragraph on
 * stderr with exit code 2 (no stack trace), binding with a human message, and clean shutdown on
 * SIGINT/SIGTERM.
 */
import { randomInt } from "node:crypto";

import { type Command, CommanderError, Option } from "commander";

import { ConfigError } from "../config/load.js";
import { createLogger, LOG_LEVELS, type Logger, type LogLevel } from "../log/logger.js";
import { type Rng, seededRng } from "../runtime/rng.js";
import { openUdpTransport, type UdpTransport } from "../transport/udp-transport.js";

/** Flags on every daemon. */
export interface CommonFlags {
  logLevel: LogLevel;
  jsonLogs?: boolean;
}

/** Adds --log-level and --json-logs, and makes commander's own usage errors exit 2. */
export function withCommonOptions(command: Command): Command {
  return command
    .addOption(new Option("--log-level <level>", "log verbosity").choices(LOG_LEVELS).default("info"))
    .option("--json-logs", "log pino JSON lines even on a terminal")
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) })
    .showHelpAfterError("(run with --help for usage)");
}

/** The process logger for a daemon. */
export function loggerFor(service: string, nodeId: string, flags: CommonFlags): Logger {
  return createLogger(service, nodeId, { level: flags.logLevel, isJson: flags.jsonLogs === true });
}

/** A fresh Rng seeded from the OS (daemons only; simulations pass their own seed). */
export function osSeededRng(): Rng {
  return seededRng(randomInt(0, 2 ** 31));
}

/** Errors that are the user's (a bad file or flag): one paragraph, exit 2, no stack trace. */
const USER_ERROR_NAMES: ReadonlySet<string> = new Set(["ConfigError", "OverlayFileError"]);

/** Runs a command's main; user errors print one paragraph and exit 2, bugs exit 1 with the stack. */
export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander already printed its message; --help and --version are successes.
      process.exitCode = error.code === "commander.helpDisplayed" || error.code === "commander.version" ? 0 : 2;
      return;
    }
    if (USER_ERROR_NAMES.has((error as Error).name)) {
      process.stderr.write(`${(error as Error).message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`fatal: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  }
}

/** Binds UDP on host:port; an OS refusal becomes a ConfigError that says what to do. */
export async function bindOrExplain(host: string, port: number, what: string): Promise<UdpTransport> {
  try {
    return await openUdpTransport({ host, port });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    const hints: Record<string, string> = {
      EADDRINUSE: "another process already uses this port; stop it or choose another port",
      EACCES: "permission denied; ports below 1024 need privileges",
      EADDRNOTAVAIL: "this machine has no such address",
      ENOTFOUND: "the host name does not resolve",
    };
    throw new ConfigError(`Cannot bind the ${what} UDP socket on ${host}:${port}: ${hints[code] ?? code} (${code}).`, {
      cause: error,
    });
  }
}

/** Parses `MIN,MAX` milliseconds from a flag. */
export function parseRangeFlag(value: string, flag: string): { min: number; max: number } {
  // Number("") is 0: a blank part must be an error, not a silent zero.
  const parts = value.split(",").map((part) => (part.trim() === "" ? Number.NaN : Number(part)));
  const [min, max] = parts.length === 1 ? [parts[0], parts[0]] : parts;
  if (
    parts.length > 2 ||
    !Number.isInteger(min) ||
    !Number.isInteger(max) ||
    (min as number) < 0 ||
    (min as number) > (max as number)
  ) {
    throw new ConfigError(`Flag ${flag} expects MIN,MAX in whole milliseconds with MIN <= MAX, got "${value}".`);
  }
  return { min: min as number, max: max as number };
}

/** Parses a number flag within bounds. */
export function parseNumberFlag(value: string, flag: string, min: number, max: number, isInteger = true): number {
  const parsed = value.trim() === "" ? Number.NaN : Number(value); // Number("") is 0, not an error
  if (!Number.isFinite(parsed) || (isInteger && !Number.isInteger(parsed)) || parsed < min || parsed > max) {
    const kind = isInteger ? "a whole number" : "a number";
    throw new ConfigError(`Flag ${flag} expects ${kind} from ${min} to ${max}, got "${value}".`);
  }
  return parsed;
}

/** Calls `onStop` once on the first SIGINT or SIGTERM; a second signal exits at once. */
export function onShutdownSignal(onStop: (signal: NodeJS.Signals) => Promise<void>): void {
  let isStopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (isStopping) process.exit(130);
    isStopping = true;
    onStop(signal).catch((error: unknown) => {
      process.stderr.write(`fatal during shutdown: ${String(error)}\n`);
      process.exit(1);
    });
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}
