import { spawnSync } from "node:child_process";
import type { Schema } from "avsc";
import { describe, expect, it } from "vitest";
import { SchemaRegistryError, TributarySchemaRegistry } from "../../src/avro/registry.js";
import { stack, uniqueName } from "../helpers/stack.js";

const customerV1: Schema = {
  type: "record",
  name: "Customer",
  namespace: "test.tributary",
  fields: [
    { name: "id", type: "long" },
    { name: "name", type: "string" },
  ],
};

// Adding a field with a default keeps BACKWARD compatibility (new readers read old data).
const customerV2: Schema = {
  type: "record",
  name: "Customer",
  namespace: "test.tributary",
  fields: [
    { name: "id", type: "long" },
    { name: "name", type: "string" },
    { name: "email", type: ["null", "string"], default: null },
  ],
};

// Changing a field's type breaks it.
const customerIncompatible: Schema = {
  type: "record",
  name: "Customer",
  namespace: "test.tributary",
  fields: [
    { name: "id", type: "string" },
    { name: "name", type: "string" },
  ],
};

async function subjectCompatibility(subject: string): Promise<string> {
  const response = await fetch(`${stack.registryUrl}/config/${subject}`);
  return ((await response.json()) as { compatibilityLevel: string }).compatibilityLevel;
}

describe("the schema registry on the local stack (Apicurio, Confluent-compatible API)", () => {
  const registry = new TributarySchemaRegistry({ url: stack.registryUrl });

  it("registers an Avro schema and round-trips a value in the Confluent wire format", async () => {
    const subject = `${uniqueName("test_customers")}-value`;
    const id = await registry.register(subject, customerV1);
    const encoded = await registry.encode(id, { id: 42, name: "Ada" });

    expect(encoded[0]).toBe(0); // magic byte
    expect(encoded.readInt32BE(1)).toBe(id);
    await expect(registry.decode(encoded)).resolves.toEqual({ id: 42, name: "Ada" });
    expect(await subjectCompatibility(subject)).toBe("BACKWARD");
    // Registering the same schema again is a no-op that answers the same id.
    await expect(registry.register(subject, customerV1)).resolves.toBe(id);
  });

  it("accepts a compatible change and refuses an incompatible one, naming the subject", async () => {
    const subject = `${uniqueName("test_customers")}-value`;
    const v1 = await registry.register(subject, customerV1);
    const v2 = await registry.register(subject, customerV2);
    expect(v2).not.toBe(v1);

    const refusal = registry.register(subject, customerIncompatible);
    await expect(refusal).rejects.toBeInstanceOf(SchemaRegistryError);
    await expect(refusal).rejects.toThrow(subject);
  });

  it("registers into a subject that already exists without a compatibility rule", async () => {
    // Created behind our back with no rule: Apicurio then reports the global level (NONE).
    const subject = `${uniqueName("test_legacy")}-value`;
    const created = await fetch(`${stack.registryUrl}/subjects/${subject}/versions`, {
      method: "POST",
      headers: { "content-type": "application/vnd.schemaregistry.v1+json" },
      body: JSON.stringify({ schema: JSON.stringify(customerV1) }),
    });
    expect(created.ok).toBe(true);

    await expect(registry.register(subject, customerV2)).resolves.toBeGreaterThan(0);
    expect(await subjectCompatibility(subject)).toBe("BACKWARD");
    await expect(registry.register(subject, customerIncompatible)).rejects.toBeInstanceOf(
      SchemaRegistryError,
    );
  });

  it("keeps schema ids across stack:down and stack:up (stored in Postgres)", async () => {
    const subject = `${uniqueName("test_durable")}-value`;
    const id = await registry.register(subject, customerV1);
    const encoded = await registry.encode(id, { id: 7, name: "Grace" });

    for (const command of ["down", "up"]) {
      const result = spawnSync("bash", ["stack/stack.sh", command], { encoding: "utf8" });
      expect(result.status, result.stderr).toBe(0);
    }

    // A fresh client has no cache: the id must resolve from the restarted registry.
    const afterRestart = new TributarySchemaRegistry({ url: stack.registryUrl });
    await expect(afterRestart.decode(encoded)).resolves.toEqual({ id: 7, name: "Grace" });
    await expect(afterRestart.register(subject, customerV1)).resolves.toBe(id);
  }, 240_000);
});
