/**
 * Goal: net-protocol/*.schema.json, which peers in other languages validate against, never drifts
 * from the zod schemas that define the wire (SPEC.md section 6).
 * Method: render the registry in memory with renderNetProtocol() and compare it with the checked-in
 * files: the same set of names, and each file byte for byte. On failure the message says how to fix it.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

import { renderNetProtocol } from "../../../src/protocol/json-schema.js";
import { Packet } from "../../../src/protocol/packet.js";

const NET_PROTOCOL_DIR = fileURLToPath(new URL("../../../net-protocol/", import.meta.url));
const FIX = "net-protocol/ is out of date with src/protocol/: run `npm run gen:net-protocol` and commit the result";

describe("net-protocol/ drift", () => {
  const rendered = renderNetProtocol();
  const onDisk = readdirSync(NET_PROTOCOL_DIR).filter((name) => name.endsWith(".schema.json"));

  it("has exactly the generated schema files, no missing and no extra ones", () => {
    const missing = [...rendered.keys()].filter((name) => !onDisk.includes(name));
    const extra = onDisk.filter((name) => !rendered.has(name));
    expect({ missing, extra }, FIX).toEqual({ missing: [], extra: [] });
  });

  it.each([...rendered.keys()])("%s matches the schemas byte for byte", (name) => {
    expect(onDisk, FIX).toContain(name);
    const text = readFileSync(`${NET_PROTOCOL_DIR}${name}`, "utf8");
    expect(text, `${name}: ${FIX}`).toBe(rendered.get(name));
  });

  it("renders a Packet schema that references every packet type", () => {
    const packet = JSON.parse(rendered.get("Packet.schema.json") ?? "{}") as { oneOf?: { $ref?: string }[] };
    const refs = (packet.oneOf ?? []).map((option) => option.$ref);
    expect(refs).toHaveLength(Packet.options.length);
    for (const ref of refs) expect(rendered.has(ref?.replace("./", "") ?? "")).toBe(true);
  });

  it("keeps the README that marks the directory as generated", () => {
    expect(readFileSync(`${NET_PROTOCOL_DIR}README.md`, "utf8")).toMatch(/GENERATED, do not edit/);
  });
});
