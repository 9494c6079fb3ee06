/**
 * One root pino logger per process. Logs go to stderr (stdout is kept for statistics and JSON
 * output), as JSON lines, or pretty when stdout is a terminal (SPEC section 8: an interactive run)
 * and --json-logs is not given.
 */
import pino, { type Logger } from "pino";
import pretty from "pino-pretty";

/** Accepted --log-level values. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  readonly level: LogLevel;
  /** Force JSON lines even on a terminal. */
  readonly isJson: boolean;
}

/** Builds the process logger for `service` (dispatcher, calculator, client...) named `nodeId`. */
export function createLogger(service: string, nodeId: string, options: LoggerOptions): Logger {
  const base = { service, nodeId };
  if (!options.isJson && process.stdout.isTTY) {
    const stream = pretty({ destination: 2, colorize: true, translateTime: "HH:MM:ss.l", ignore: "pid,hostname" });
    return pino({ level: options.level, base }, stream);
  }
  return pino({ level: options.level, base }, pino.destination({ dest: 2, sync: true }));
}

export type { Logger };
