/**
 * Goal: the Kubernetes manifests in deploy/k8s are valid against the Kubernetes schemas and say what
 * docs/OPERATIONS.md promises: one dispatcher replica that is never doubled (Recreate) with its
 * journal on a PersistentVolumeClaim mounted where journal.path points, a UDP Service for it,
 * calculators with several replicas, configs in ConfigMaps that the daemons' own loader accepts, and
 * the key file from a Secret. Method: parse every YAML document and validate it with the
 * `kubernetes-models` package (the Kubernetes OpenAPI schemas compiled to validators); a broken copy
 * must fail, so the validator is known to bite.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";

import { parseConfig } from "../../../src/config/load.js";
import { CalculatorFileConfig, DispatcherFileConfig } from "../../../src/config/schema.js";

const K8S_DIR = fileURLToPath(new URL("../../../deploy/k8s/", import.meta.url));

// biome-ignore lint/suspicious/noExplicitAny: manifests are walked by path; the schemas check their shape.
type Doc = Record<string, any>;

function documents(): Doc[] {
  return readdirSync(K8S_DIR)
    .filter((name) => name.endsWith(".yaml"))
    .flatMap((name) => parseAllDocuments(readFileSync(`${K8S_DIR}${name}`, "utf8")).map((d) => d.toJS() as Doc));
}

/** Validates one manifest with kubernetes-models; throws with the schema's message when invalid. */
async function validate(doc: Doc): Promise<void> {
  const group = doc["apiVersion"] === "v1" ? "v1" : String(doc["apiVersion"]);
  const module = (await import(`kubernetes-models/${group}/${doc["kind"]}`)) as Record<string, unknown>;
  const Model = module[String(doc["kind"])] as (new (data: Doc) => { validate(): void }) | undefined;
  expect(Model, `${group}/${doc["kind"]} is a known kind`).toBeDefined();
  if (Model !== undefined) new Model(doc).validate();
}

const find = (docs: Doc[], kind: string, name: string): Doc => {
  const doc = docs.find((d) => d["kind"] === kind && d["metadata"]?.["name"] === name);
  expect(doc, `${kind} ${name}`).toBeDefined();
  return doc as Doc;
};

describe("deploy/k8s manifests", () => {
  const docs = documents();

  it("validate against the Kubernetes schemas, and a broken copy does not", async () => {
    expect(docs.length).toBeGreaterThanOrEqual(6);
    for (const doc of docs) await validate(doc);
    const broken = structuredClone(find(docs, "Deployment", "udp-cluster-dispatcher"));
    broken["spec"]["replicas"] = "one";
    await expect(validate(broken)).rejects.toThrow(/replicas/);
  }, 20_000);

  it("run one dispatcher with its journal on a PersistentVolumeClaim, behind a UDP Service", () => {
    const dispatcher = find(docs, "Deployment", "udp-cluster-dispatcher");
    expect(dispatcher["spec"]["replicas"]).toBe(1);
    expect(dispatcher["spec"]["strategy"]["type"]).toBe("Recreate");
    const pod = dispatcher["spec"]["template"]["spec"];
    const journalVolume = pod["volumes"].find((v: Doc) => v["persistentVolumeClaim"] !== undefined);
    find(docs, "PersistentVolumeClaim", journalVolume["persistentVolumeClaim"]["claimName"]);
    const mount = pod["containers"][0]["volumeMounts"].find((m: Doc) => m["name"] === journalVolume["name"]);
    const config = parseConfig(
      DispatcherFileConfig,
      JSON.parse(find(docs, "ConfigMap", "udp-cluster-dispatcher")["data"]["dispatcher.json"]),
      "ConfigMap udp-cluster-dispatcher",
    );
    expect(config.journal.path?.startsWith(`${mount["mountPath"]}/`)).toBe(true);
    const service = find(docs, "Service", "udp-cluster-dispatcher");
    expect(service["spec"]["ports"].map((p: Doc) => p["protocol"])).toEqual(["UDP"]);
    expect(service["spec"]["ports"][0]["port"]).toBe(config.listen.port);
    expect(pod["securityContext"]["runAsNonRoot"]).toBe(true);
  });

  it("run several calculators pointed at the dispatcher Service, configs and key mounted from ConfigMap and Secret", () => {
    const calculators = find(docs, "Deployment", "udp-cluster-calculator");
    expect(calculators["spec"]["replicas"]).toBeGreaterThan(1);
    const config = parseConfig(
      CalculatorFileConfig,
      JSON.parse(find(docs, "ConfigMap", "udp-cluster-calculator")["data"]["calculator.json"]),
      "ConfigMap udp-cluster-calculator",
    );
    expect(config.dispatcher.host).toBe("udp-cluster-dispatcher");
    const secret = find(docs, "Secret", "udp-cluster-key");
    for (const name of ["udp-cluster-dispatcher", "udp-cluster-calculator"]) {
      const volumes = find(docs, "Deployment", name)["spec"]["template"]["spec"]["volumes"];
      expect(volumes.some((v: Doc) => v["secret"]?.["secretName"] === secret["metadata"]["name"])).toBe(true);
      expect(volumes.some((v: Doc) => v["configMap"] !== undefined)).toBe(true);
      // The key file reaches the daemon where auth.keyFile says, owner-only (copied by the init container).
      const pod = find(docs, "Deployment", name)["spec"]["template"]["spec"];
      const mounts = pod["containers"][0]["volumeMounts"] as Doc[];
      const component = name.replace("udp-cluster-", "");
      const file = JSON.parse(find(docs, "ConfigMap", name)["data"][`${component}.json`]) as Doc;
      const keyFile = String(file["auth"]["keyFile"]);
      expect(mounts.some((m) => keyFile.startsWith(`${m["mountPath"]}/`))).toBe(true);
      expect(pod["initContainers"][0]["command"].join(" ")).toContain(`chmod 600 ${keyFile}`);
    }
  });
});
