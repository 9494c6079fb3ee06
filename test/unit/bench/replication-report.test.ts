import { describe, expect, it } from "vitest";

import { metricSum, parseMetrics } from "../../../src/bench/replication-cluster.js";
import { REPLICATION_HEADING, spliceSection } from "../../../src/bench/replication-report.js";

describe("bench replication helpers", () => {
  it("parses Prometheus text and sums a metric's series by label", () => {
    const metrics = parseMetrics(
      [
        "# HELP udp_cluster_task_copies_started_total copies",
        "# TYPE udp_cluster_task_copies_started_total counter",
        'udp_cluster_task_copies_started_total{kind="primary"} 800',
        'udp_cluster_task_copies_started_total{kind="hedge"} 23',
        "udp_cluster_datagrams_sent_total 1200",
        "",
      ].join("\n"),
    );
    expect(metricSum(metrics, "udp_cluster_task_copies_started_total")).toBe(823);
    expect(metricSum(metrics, "udp_cluster_task_copies_started_total", 'kind="hedge"')).toBe(23);
    expect(metricSum(metrics, "udp_cluster_datagrams_sent_total")).toBe(1200);
    expect(metricSum(metrics, "udp_cluster_datagrams")).toBe(0);
  });

  it("replaces only the replication section and keeps the sections around it", () => {
    const before = `# Benchmarks\n\n## Journal\n\njournal text\n\n${REPLICATION_HEADING}\n\nold figures\n\n## Auth\n\nauth text\n`;
    const after = spliceSection(before, `${REPLICATION_HEADING}\n\nnew figures\n`);
    expect(after).toContain("journal text");
    expect(after).toContain("auth text");
    expect(after).toContain("new figures");
    expect(after).not.toContain("old figures");
    expect(after.indexOf("new figures")).toBeLessThan(after.indexOf("## Auth"));
  });

  it("appends the section when the document has none", () => {
    const after = spliceSection("# Benchmarks\n\ntext\n", `${REPLICATION_HEADING}\n\nfigures\n`);
    expect(after).toBe(`# Benchmarks\n\ntext\n\n${REPLICATION_HEADING}\n\nfigures\n`);
  });
});
