import { COMPATIBILITY, SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import type { Schema as AvroSchema } from "avsc";

/**
 * The schema registry as Tributary uses it: Avro schemas under `<topic>-key` / `<topic>-value`
 * subjects with BACKWARD compatibility, values in the Confluent wire format (magic byte 0, 4-byte
 * schema id, Avro body). Works against Confluent's registry and Apicurio's ccompat API alike.
 */
export interface SchemaRegistryOptions {
  /** Base URL of the Confluent-compatible API, e.g. http://127.0.0.1:8081/apis/ccompat/v7 */
  url: string;
}

export class SchemaRegistryError extends Error {
  constructor(
    message: string,
    readonly subject: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "SchemaRegistryError";
  }
}

export class TributarySchemaRegistry {
  readonly #client: SchemaRegistry;
  readonly #url: string;

  constructor(options: SchemaRegistryOptions) {
    this.#url = options.url.replace(/\/+$/, "");
    this.#client = new SchemaRegistry({ host: this.#url, retry: { retries: 3 } });
  }

  /**
   * Registers `schema` under `subject` (a no-op returning the existing id when it is already there)
   * and returns its schema id. The subject's compatibility is BACKWARD; a schema that breaks it is
   * refused with an error naming the subject and the registry's reason.
   */
  async register(subject: string, schema: AvroSchema): Promise<number> {
    await this.#ensureBackwardCompatibility(subject);
    try {
      const { id } = await this.#client.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
        { subject, compatibility: COMPATIBILITY.BACKWARD },
      );
      return id;
    } catch (error) {
      throw new SchemaRegistryError(
        `the schema registry refused a new schema for subject ${subject}: ${describe(error)}`,
        subject,
        { cause: error },
      );
    }
  }

  /** Encodes `value` with the registered schema `schemaId` in the Confluent wire format. */
  encode(schemaId: number, value: unknown): Promise<Buffer> {
    return this.#client.encode(schemaId, value);
  }

  /** Decodes a Confluent wire-format buffer, fetching (and caching) its writer schema. */
  decode(buffer: Buffer): Promise<unknown> {
    return this.#client.decode(buffer);
  }

  /**
   * Confluent's registry answers 404 for a subject without its own compatibility level, and the
   * client library then sets it after the first registration. Apicurio answers the global default
   * (NONE) instead, which the library takes as a conflicting level and refuses. So an existing
   * subject whose level is not BACKWARD is set to BACKWARD here, before registering.
   */
  async #ensureBackwardCompatibility(subject: string): Promise<void> {
    const configUrl = `${this.#url}/config/${encodeURIComponent(subject)}`;
    const current = await fetch(configUrl, { headers: { accept: "application/json" } });
    if (current.status === 404) return;
    if (!current.ok) {
      throw new SchemaRegistryError(
        `the schema registry answered ${current.status} for ${configUrl}: ${await current.text()}`,
        subject,
      );
    }
    const { compatibilityLevel } = (await current.json()) as { compatibilityLevel?: string };
    if (compatibilityLevel?.toUpperCase() === COMPATIBILITY.BACKWARD) return;
    const update = await fetch(configUrl, {
      method: "PUT",
      headers: { "content-type": "application/vnd.schemaregistry.v1+json" },
      body: JSON.stringify({ compatibility: COMPATIBILITY.BACKWARD }),
    });
    if (!update.ok) {
      throw new SchemaRegistryError(
        `could not set BACKWARD compatibility on subject ${subject}: ${update.status} ${await update.text()}`,
        subject,
      );
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
