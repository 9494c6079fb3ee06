/**
 * Goal: the dispatcher answers the operator CLI's read-only questions truthfully and changes nothing:
 * task.query gives queued, running, the final answer or unknown; admin.status pages calculators and
 * says what the cluster survived (calculators alive, outages declared, copies re-placed; SPEC 4), also
 * to a client asking past the last calculator for the counts alone.
 * Method: a DispatcherCore driven with plain packets (fixtures), outputs compared exactly.
 */
import { describe, expect, it } from "vitest";

import { DispatcherCore } from "../../../src/dispatcher/core.js";
import { STATUS_PAGE_CALCULATORS_MAX } from "../../../src/protocol/packets.js";
import { CALC, CLIENT, DISPATCHER_ID, done, heartbeatPacket, submit, task, testConfig } from "./fixtures.js";

const CLI = { host: "10.0.0.200", port: 5000 };
const query = (n: number) => ({ v: 1, type: "task.query", from: "cluster-cli", taskId: task(n) }) as const;

describe("operator queries", () => {
  it("task.query: queued, running, final answer, unknown", () => {
    const core = new DispatcherCore(testConfig());
    core.onPacket(0, CALC.a, heartbeatPacket("a", 1));
    core.onPacket(1, CLIENT, submit(1));
    core.onPacket(2, CLIENT, submit(2));
    const ack = (n: number, state: string) => [
      { kind: "send", to: CLI, packet: { v: 1, type: "task.ack", from: DISPATCHER_ID, taskId: task(n), state } },
    ];
    expect(core.onPacket(3, CLI, query(1))).toEqual(ack(1, "running"));
    expect(core.onPacket(3, CLI, query(2))).toEqual(ack(2, "queued"));
    core.onPacket(4, CALC.a, done("a", 1, 1));
    const [answer] = core.onPacket(5, CLI, query(1));
    expect(answer).toMatchObject({ to: CLI, packet: { type: "task.result", taskId: task(1) } });
    expect(core.onPacket(5, CLI, query(9))).toEqual([
      { kind: "send", to: CLI, packet: { v: 1, type: "task.unknown", from: DISPATCHER_ID, taskId: task(9) } },
    ]);
    expect(core.taskState(6, task(9))).toBe("unknown"); // a query creates nothing
  });

  it("admin.status pages the calculators sorted by id", () => {
    const core = new DispatcherCore(testConfig({ calculatorsMax: 100 }));
    const total = STATUS_PAGE_CALCULATORS_MAX + 5;
    for (let i = 0; i < total; i += 1) {
      const id = `calc-${String(i).padStart(3, "0")}`;
      core.onPacket(0, { host: "10.0.1.1", port: 7000 + i }, { ...heartbeatPacket("a", 1), from: id });
    }
    const ask = (offset: number) =>
      core.onPacket(10, CLI, { v: 1, type: "admin.status", from: "cluster-cli", requestId: task(1), offset })[0];
    const first = ask(0) as { packet: { calculators: { id: string }[]; calculatorsTotal: number } };
    expect(first.packet.calculatorsTotal).toBe(total);
    expect(first.packet.calculators).toHaveLength(STATUS_PAGE_CALCULATORS_MAX);
    expect(first.packet.calculators[0]?.id).toBe("calc-000");
    const second = ask(STATUS_PAGE_CALCULATORS_MAX) as { packet: { calculators: { id: string }[] } };
    expect(second.packet.calculators.map((c) => c.id)).toEqual(
      Array.from({ length: 5 }, (_, i) => `calc-0${STATUS_PAGE_CALCULATORS_MAX + i}`),
    );
  });

  it("admin.status says what the cluster survived: alive calculators, outages and re-placed copies", () => {
    const core = new DispatcherCore(testConfig()); // heartbeatTimeoutMs 400
    core.onPacket(0, CALC.a, heartbeatPacket("a", 1));
    core.onPacket(0, CALC.b, heartbeatPacket("b", 1));
    core.onPacket(1, CLIENT, submit(1)); // on calc-a (first by id among equals)
    core.onPacket(300, CALC.b, heartbeatPacket("b", 2));
    const deaths = core.onTick(401);
    expect(deaths.filter((o) => o.kind === "calculator_dead")).toHaveLength(1);
    expect(deaths.filter((o) => o.kind === "task_replaced")).toHaveLength(1);
    expect(core.survived()).toEqual({ outageCount: 1, replacedCount: 1 });
    const [answer] = core.onPacket(402, CLIENT, {
      v: 1,
      type: "admin.status",
      from: "client-1",
      requestId: task(7),
      offset: 1_000_000,
    });
    expect(answer).toEqual({
      kind: "send",
      to: CLIENT,
      packet: {
        v: 1,
        type: "admin.status.result",
        from: DISPATCHER_ID,
        requestId: task(7),
        tasks: { queued: 0, running: 1, succeeded: 0, failed: 0 },
        calculatorsTotal: 2,
        offset: 1_000_000,
        calculators: [],
        aliveCount: 1,
        outageCount: 1,
        replacedCount: 1,
      },
    });
  });
});
