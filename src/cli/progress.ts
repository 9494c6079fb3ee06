/**
 * The client's live progress line: rewritten in place on a terminal, a plain line every few seconds
 * otherwise (so long waits always show progress, never a log line per task).
 */
import type { ClientHandle } from "../client/daemon.js";
import { systemClock } from "../runtime/clock.js";

const TTY_REFRESH_MS = 500;
const PLAIN_REFRESH_MS = 5_000;

/** Starts the progress line on stderr; stop() clears it. */
export function startProgress(client: ClientHandle, startedMs: number): { stop(): void } {
  const isTty = process.stderr.isTTY === true;
  const render = (): string => {
    const elapsedS = (systemClock.nowMs() - startedMs) / 1_000;
    const s = client.stats.snapshot(elapsedS);
    const sending = client.core.isSending ? "sending" : "waiting for answers";
    return (
      `${elapsedS.toFixed(1)}s ${sending}: sent ${s.sent}, ok ${s.succeeded}, failed ${s.failed}, ` +
      `outstanding ${client.core.pendingCount}, p50 ${s.latencyMs.p50.toFixed(0)} ms`
    );
  };
  const timer = setInterval(
    () => {
      if (isTty) process.stderr.write(`\r\x1b[2K${render()}`);
      else process.stderr.write(`progress: ${render()}\n`);
    },
    isTty ? TTY_REFRESH_MS : PLAIN_REFRESH_MS,
  );
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      if (isTty) process.stderr.write("\r\x1b[2K");
    },
  };
}
