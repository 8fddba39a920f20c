import { COMPATIBILITY, SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import type { Schema as AvroSchema } from "avsc";
import { int64TypeHook } from "./long-type.js";
import { wireSchemaId } from "./wire-writer.js";

/**
 * The schema registry as Tributary uses it: Avro schemas under `<topic>-key` / `<topic>-value`
 * subjects with BACKWARD compatibility, values in the Confluent wire format (magic byte 0, 4-byte
 * schema id, Avro body). Works against Confluent's registry and Apicurio's ccompat API alike.
 */
export interface SchemaRegistryOptions {
  /** Base URL of the Confluent-compatible API, e.g. http://127.0.0.1:8081/apis/ccompat/v7 */
  url: string;
}

export interface DecodedWithSchema {
  readonly schemaId: number;
  /** The writer schema as JSON. */
  readonly schema: unknown;
  readonly value: unknown;
}

export class SchemaRegistryError extends Error {
  /** The registry said no to the schema itself (incompatible or invalid): retrying will not help. */
  readonly refused: boolean;
  /** The registry's HTTP status, when it answered (404: no such schema id or subject). */
  readonly status: number | undefined;

  constructor(
    message: string,
    readonly subject: string,
    options?: { cause?: unknown; refused?: boolean; status?: number },
  ) {
    super(message, options);
    this.name = "SchemaRegistryError";
    this.refused = options?.refused ?? false;
    this.status = options?.status;
  }
}

export class TributarySchemaRegistry {
  readonly #client: SchemaRegistry;
  readonly #url: string;
  readonly #schemasById = new Map<number, Promise<unknown>>();

  constructor(options: SchemaRegistryOptions) {
    this.#url = options.url.replace(/\/+$/, "");
    // Every long goes through int64LongType: 64-bit values survive (see long-type.ts).
    this.#client = new SchemaRegistry(
      { host: this.#url, retry: { retries: 3 } },
      { [SchemaType.AVRO]: { typeHook: int64TypeHook } },
    );
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
      const status = (error as { status?: unknown }).status;
      // 409: incompatible with the subject's earlier versions; 422: not a valid schema.
      const refused = status === 409 || status === 422;
      const what = refused ? "refused a new schema" : "could not register a schema";
      throw new SchemaRegistryError(
        `the schema registry ${what} for subject ${subject}: ${describe(error)}`,
        subject,
        {
          cause: error,
          refused,
        },
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
   * Decodes a Confluent wire-format buffer and returns the writer schema with it, as the JSON the
   * registry stores (custom attributes included, which avsc's parsed types drop).
   */
  async decodeWithSchema(buffer: Buffer): Promise<DecodedWithSchema> {
    const schemaId = wireSchemaId(buffer);
    if (schemaId === undefined) {
      throw new SchemaRegistryError("not a Confluent wire-format record (no magic byte 0)", "");
    }
    const [value, schema] = await Promise.all([this.#client.decode(buffer), this.schemaById(schemaId)]);
    return { schemaId, schema, value };
  }

  /** The schema registered under `schemaId`, parsed from the registry's text (cached: ids never change). */
  schemaById(schemaId: number): Promise<unknown> {
    let cached = this.#schemasById.get(schemaId);
    if (!cached) {
      cached = this.#fetchSchema(schemaId);
      this.#schemasById.set(schemaId, cached);
      cached.catch(() => this.#schemasById.delete(schemaId));
    }
    return cached;
  }

  async #fetchSchema(schemaId: number): Promise<unknown> {
    const url = `${this.#url}/schemas/ids/${schemaId}`;
    const response = await fetch(url, { headers: { accept: "application/json" } });
    if (!response.ok) {
      throw new SchemaRegistryError(`the schema registry answered ${response.status} for ${url}`, "", {
        status: response.status,
      });
    }
    const { schema } = (await response.json()) as { schema: string };
    return JSON.parse(schema);
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
