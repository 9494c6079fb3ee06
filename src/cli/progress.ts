/**
 * The client's live progress line: rewritten in place on a terminal, a plain line every few seconds
 * otherwise (so long waits always show progress, never a log line per task). It shows the client's
 * own counts and resends and, when the dispatcher answered admin.status, the dispatcher-side picture
 * (calculators alive, queued and running tasks, outages and re-placed copies; SPEC section 4).
 */
import type { ClientHandle } from "../client/daemon.js";
import { type DispatcherView, formatPicture } from "../client/dispatcher-view.js";
import { systemClock } from "../runtime/clock.js";

const TTY_REFRESH_MS = 500;
const PLAIN_REFRESH_MS = 5_000;

/** The progress text at nowMs (no newline). */
export function progressText(client: ClientHandle, startedMs: number, nowMs: number, view?: DispatcherView): string {
  const elapsedS = (nowMs - startedMs) / 1_000;
  const s = client.stats.snapshot(elapsedS);
  const sending = client.core.isSending ? "sending" : "waiting for answers";
  const p50 = s.received === 0 ? "-" : `${s.latencyMs.p50.toFixed(0)} ms`;
  const own =
    `${elapsedS.toFixed(1)}s ${sending}: sent ${s.sent}, ok ${s.succeeded}, failed ${s.failed}, ` +
    `outstanding ${client.core.pendingCount}, p50 ${p50}, resent ${client.core.resentCount}`;
  const picture = view?.latest;
  return picture === undefined ? own : `${own} | ${formatPicture(picture, nowMs)}`;
}

/** A terminal line must not wrap, or rewriting it in place leaves the wrapped part behind. */
function fitToTerminal(text: string): string {
  const columns = process.stderr.columns ?? 0;
  return columns > 1 && text.length > columns - 1 ? `${text.slice(0, columns - 2)}…` : text;
}

/** Starts the progress line on stderr; stop() clears it. */
export function startProgress(client: ClientHandle, startedMs: number, view?: DispatcherView): { stop(): void } {
  const isTty = process.stderr.isTTY === true;
  const render = (): string => progressText(client, startedMs, systemClock.nowMs(), view);
  const timer = setInterval(
    () => {
      if (isTty) process.stderr.write(`\r\x1b[2K${fitToTerminal(render())}`);
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
