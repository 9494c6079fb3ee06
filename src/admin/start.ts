/**
 * Wires the admin plane onto a running dispatcher: the activity log and the metrics registry fed from
 * the dispatcher's outputs, and the HTTP server on `admin.host:admin.port`. A bind refusal becomes a
 * ConfigError (exit 2) that names the address and what to do.
 */
import { ConfigError } from "../config/load.js";
import type { DispatcherOutput } from "../dispatcher/types.js";
import { ActivityLog } from "./activity.js";
import { DispatcherMetrics } from "./metrics.js";
import { type AdminServer, startAdminServer } from "./server.js";
import type { StatusSource } from "./status.js";

/** The admin plane's output hook, made before the dispatcher starts (it needs the hook). */
export interface AdminPlane {
  readonly activity: ActivityLog;
  observe(nowMs: number, output: DispatcherOutput): void;
  /** Starts serving once the dispatcher runs. */
  listen(
    host: string,
    port: number,
    source: Omit<StatusSource, "activity">,
    datagrams: ConstructorParameters<typeof DispatcherMetrics>[1],
    nowMs: () => number,
  ): Promise<AdminServer>;
}

/** Creates the admin plane; outputs observed before listen() are recorded too. */
export function createAdminPlane(): AdminPlane {
  const activity = new ActivityLog();
  let metrics: DispatcherMetrics | undefined;
  const early: DispatcherOutput[] = [];
  return {
    activity,
    observe(nowMs, output) {
      activity.observe(nowMs, output);
      if (metrics === undefined) early.push(output);
      else metrics.observe(output);
    },
    async listen(host, port, partial, datagrams, nowMs) {
      const source: StatusSource = { ...partial, activity };
      metrics = new DispatcherMetrics(source, datagrams, nowMs);
      for (const output of early.splice(0)) metrics.observe(output);
      try {
        return await startAdminServer(host, port, { source, metrics, nowMs });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? "error";
        throw new ConfigError(
          `Cannot start the admin HTTP server on ${host}:${port} (${code}): choose another admin.port, ` +
            `use --admin HOST:PORT (port 0 picks a free one), or turn it off with "admin": null or --admin off.`,
          { cause: error },
        );
      }
    },
  };
}
