/**
 * The admin HTTP server (SPEC 8) on node:http: GET /metrics (Prometheus text), GET /status (JSON),
 * GET / (the dashboard page) and GET /api/dashboard (what the page polls). Unknown paths get 404,
 * other methods 405 with `Allow`. Every handler answers from memory in one turn, so a slow or aborted
 * HTTP client costs a socket, never the UDP path; sockets are bounded (CONNECTIONS_MAX) and time out.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

import type { ActivityLog } from "./activity.js";
import { DASHBOARD_HTML } from "./dashboard-page.js";
import type { DispatcherMetrics } from "./metrics.js";
import { buildStatus, type StatusSource } from "./status.js";

/** Open HTTP connections at most; beyond it new ones are refused by the OS-level close. */
export const CONNECTIONS_MAX = 512;
/** A client must send its request headers within this (ms). */
const HEADERS_TIMEOUT_MS = 10_000;
/** A whole request must arrive within this (ms). */
const REQUEST_TIMEOUT_MS = 15_000;
/** An idle keep-alive connection is closed after this (ms). */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** Seconds of history the dashboard gets. */
const DASHBOARD_HISTORY_S = 300;

/** A running admin server. */
export interface AdminServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** What the admin server serves from. */
export interface AdminDeps {
  readonly source: StatusSource & { readonly activity: ActivityLog };
  readonly metrics: DispatcherMetrics;
  readonly nowMs: () => number;
}

type Route = (deps: AdminDeps, response: ServerResponse) => Promise<void> | void;

const ROUTES: Record<string, Route> = {
  "/": (_deps, response) => send(response, 200, "text/html; charset=utf-8", DASHBOARD_HTML),
  "/metrics": async (deps, response) => {
    const text = await deps.metrics.registry.metrics();
    send(response, 200, deps.metrics.registry.contentType, text);
  },
  "/status": (deps, response) => sendJson(response, buildStatus(deps.nowMs(), deps.source)),
  "/api/dashboard": (deps, response) => {
    const nowMs = deps.nowMs();
    sendJson(response, {
      generatedAtMs: Date.now(),
      status: buildStatus(nowMs, deps.source),
      history: deps.source.activity.history(nowMs, DASHBOARD_HISTORY_S).map((s) => ({
        succeeded: s.succeeded,
        failed: s.failed,
        replaced: s.replaced,
        latencyMeanMs: s.succeeded === 0 ? null : Math.round(s.latencySumMs / s.succeeded),
        latencyMaxMs: s.succeeded === 0 ? null : Math.round(s.latencyMaxMs),
      })),
      failures: deps.source.activity.recentFailures().map((f) => ({
        ageMs: Math.round(nowMs - f.atMs),
        taskId: f.taskId,
        reason: f.reason,
      })),
    });
  },
};

function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
  });
  response.end(body);
}

function sendJson(response: ServerResponse, value: unknown): void {
  send(response, 200, "application/json; charset=utf-8", `${JSON.stringify(value)}\n`);
}

async function handle(deps: AdminDeps, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = (request.url ?? "/").split("?")[0] ?? "/";
  const route = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
  if (route === undefined) return send(response, 404, "text/plain; charset=utf-8", `not found: ${path}\n`);
  if (request.method !== "GET" && request.method !== "HEAD") {
    response.setHeader("allow", "GET, HEAD");
    return send(response, 405, "text/plain; charset=utf-8", `method ${request.method} not allowed on ${path}\n`);
  }
  await route(deps, response);
}

/** Starts the admin server on host:port (port 0: any free port). */
export async function startAdminServer(host: string, port: number, deps: AdminDeps): Promise<AdminServer> {
  const server: Server = createServer(
    { headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS },
    (request, response) => {
      request.on("error", () => response.destroy());
      response.on("error", () => undefined);
      handle(deps, request, response).catch(() => {
        if (!response.headersSent) send(response, 500, "text/plain; charset=utf-8", "internal error\n");
        else response.destroy();
      });
    },
  );
  server.maxConnections = CONNECTIONS_MAX;
  server.on("clientError", (_error, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    host: address.address,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
