/**
 * Renders the wire registry as JSON Schema documents (net-protocol/*.schema.json), so peers in other
 * languages can validate our packets. The drift test compares this output with the files on disk.
 */
import * as z from "zod";

import "./batch.js";
import "./packet.js";
import { wire } from "./packets.js";

/** Every registered wire schema as a JSON Schema document, keyed by file name. */
export function renderNetProtocol(): Map<string, string> {
  const { schemas } = z.toJSONSchema(wire, {
    target: "draft-2020-12",
    metadata: wire,
    unrepresentable: "throw",
    uri: (id) => `./${id}.schema.json`,
  });
  const files = new Map<string, string>();
  for (const id of Object.keys(schemas).sort()) {
    files.set(`${id}.schema.json`, `${JSON.stringify(schemas[id], null, 2)}\n`);
  }
  return files;
}
