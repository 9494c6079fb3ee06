/**
 * The dispatcher's Prometheus registry (SPEC 8): counters fed from the core's outputs as the shell
 * performs them, gauges read from the core when scraped, plus prom-client's process and Node defaults.
 * Labels are bounded: outcomes, reasons and copy kinds come from fixed unions, states from a fixed
 * list, and the per-calculator gauges carry only ids of calculators the registry still holds (at most
 * calculatorsMax), rebuilt on every scrape so a calculator that leaves takes its series with it.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

import type { DispatcherOutput } from "../dispatcher/types.js";
import type { StatusSource } from "./status.js";

/** Metric names start with this (SPEC 8). */
export const METRIC_PREFIX = "udp_cluster_";

/** Task duration buckets (seconds): 5 ms .. 2 min, covering the emulated 0.2-6 s computations. */
const DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

const CALCULATOR_STATES = ["alive", "suspect", "dead", "parked"] as const;

/** Datagram figures the shell keeps (CoreHost), read at scrape time. */
export interface DatagramSource {
  datagramsReceived(): number;
  datagramsSent(): number;
  /** Rejected at decode, by error code (bounded: the DecodeErrorCode union). */
  rejected(): ReadonlyMap<string, number>;
}

/** The registry and the hook that feeds it. */
export class DispatcherMetrics {
  readonly registry = new Registry();
  readonly #completed: Counter<"outcome">;
  readonly #failures: Counter<"reason">;
  readonly #duration: Histogram;
  readonly #copies: Counter<"kind">;
  readonly #replaced: Counter<"reason">;
  readonly #dropped: Counter<"reason">;

  constructor(source: StatusSource, datagrams: DatagramSource, nowMs: () => number) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
    new Counter({
      name: `${METRIC_PREFIX}tasks_submitted_total`,
      help: "Tasks accepted from clients (first submit of each task id): answered plus still queued or running.",
      registers,
      collect() {
        const { tasks } = source.core.status(nowMs());
        this.reset();
        this.inc(tasks.succeeded + tasks.failed + tasks.queued + tasks.running);
      },
    });
    this.#completed = new Counter({
      name: `${METRIC_PREFIX}tasks_completed_total`,
      help: "Final answers sent to clients, by outcome.",
      labelNames: ["outcome"],
      registers,
    });
    this.#failures = new Counter({
      name: `${METRIC_PREFIX}task_failures_total`,
      help: "Final failure answers, by reason.",
      labelNames: ["reason"],
      registers,
    });
    this.#duration = new Histogram({
      name: `${METRIC_PREFIX}task_duration_seconds`,
      help: "Time from a task's arrival at the dispatcher to its final successful answer.",
      buckets: DURATION_BUCKETS_S,
      registers,
    });
    this.#copies = new Counter({
      name: `${METRIC_PREFIX}task_copies_started_total`,
      help: "Copies of tasks started on calculators, by why they started.",
      labelNames: ["kind"],
      registers,
    });
    this.#replaced = new Counter({
      name: `${METRIC_PREFIX}task_replacements_total`,
      help: "Copies taken from a calculator and placed again, by reason.",
      labelNames: ["reason"],
      registers,
    });
    this.#dropped = new Counter({
      name: `${METRIC_PREFIX}datagrams_dropped_total`,
      help: "Packets dropped without effect and datagrams rejected at decode, by reason.",
      labelNames: ["reason"],
      registers,
    });
    for (const outcome of ["ok", "failed"]) this.#completed.inc({ outcome }, 0);
    for (const kind of ["primary", "replica", "hedge", "replacement"]) this.#copies.inc({ kind }, 0);
    this.#registerGauges(source, datagrams, nowMs);
  }

  #registerGauges(source: StatusSource, datagrams: DatagramSource, nowMs: () => number): void {
    const registers = [this.registry];
    const dropped = this.#dropped;
    const rejectedSeen = new Map<string, number>();
    new Gauge({
      name: `${METRIC_PREFIX}calculators`,
      help: "Calculators known to the dispatcher, by state.",
      labelNames: ["state"],
      registers,
      collect() {
        const counts = new Map<string, number>(CALCULATOR_STATES.map((state) => [state, 0]));
        for (const row of source.core.status(nowMs()).calculators)
          counts.set(row.state, (counts.get(row.state) ?? 0) + 1);
        for (const [state, count] of counts) this.set({ state }, count);
        // Decode rejects live in the shell: fold their growth into the dropped counter here.
        for (const [code, count] of datagrams.rejected()) {
          const growth = count - (rejectedSeen.get(code) ?? 0);
          if (growth > 0) dropped.inc({ reason: code }, growth);
          rejectedSeen.set(code, count);
        }
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}queue_depth`,
      help: "Tasks waiting for a free calculator.",
      registers,
      collect() {
        this.set(source.core.counts().queued);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}tasks_running`,
      help: "Tasks with at least one copy on a calculator.",
      registers,
      collect() {
        this.set(source.core.counts().running);
      },
    });
    new Counter({
      name: `${METRIC_PREFIX}datagrams_received_total`,
      help: "UDP datagrams received by the dispatcher.",
      registers,
      collect() {
        this.reset();
        this.inc(datagrams.datagramsReceived());
      },
    });
    new Counter({
      name: `${METRIC_PREFIX}datagrams_sent_total`,
      help: "UDP datagrams sent by the dispatcher (a batch frame is one datagram).",
      registers,
      collect() {
        this.reset();
        this.inc(datagrams.datagramsSent());
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}calculator_running_tasks`,
      help: "Tasks running on each known calculator (series removed when the calculator is forgotten).",
      labelNames: ["calculator"],
      registers,
      collect() {
        this.reset();
        for (const entry of source.core.registry.values()) {
          this.set({ calculator: entry.id }, Math.max(entry.assigned.size, entry.reportedRunning));
        }
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}calculator_failure_ratio`,
      help: "Each known calculator's failure estimate in [0, 1] (series removed when it is forgotten).",
      labelNames: ["calculator"],
      registers,
      collect() {
        this.reset();
        for (const row of source.core.status(nowMs()).calculators) this.set({ calculator: row.id }, row.failureRate);
      },
    });
  }

  /** Feeds one core output (call for every output the shell performs, sends excluded). */
  observe(output: DispatcherOutput): void {
    switch (output.kind) {
      case "task_completed":
        this.#completed.inc({ outcome: "ok" });
        this.#duration.observe(output.latencyMs / 1_000);
        break;
      case "task_failed":
        this.#completed.inc({ outcome: "failed" });
        this.#failures.inc({ reason: output.reason });
        break;
      case "copy_started":
        this.#copies.inc({ kind: output.copyKind });
        break;
      case "task_replaced":
        this.#replaced.inc({ reason: output.reason });
        break;
      case "packet_dropped":
        this.#dropped.inc({ reason: output.reason });
        break;
      default:
        break;
    }
  }
}
