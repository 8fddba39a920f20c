/**
 * The source factory: a connector by the `type` of its config entry. Each connector is imported
 * only when used, so a capture of one source never loads the others' drivers.
 */
import type { SourceConfig } from "../core/config/index.js";
import { TributaryError } from "../core/errors.js";
import type { Source } from "../core/source.js";

async function loadPostgres() {
  try {
    return await import("./postgres/source.js");
  } catch (error) {
    if ((error as { code?: string }).code !== "ERR_MODULE_NOT_FOUND") throw error;
    throw new TributaryError("the postgres source is not available in this build", {
      code: "SOURCE_UNAVAILABLE",
      hint: "rebuild Tributary (npm run build) from a version that includes src/sources/postgres",
      cause: error,
    });
  }
}

export async function createSource(name: string, config: SourceConfig): Promise<Source> {
  switch (config.type) {
    case "postgres": {
      const { createPostgresSource } = await loadPostgres();
      return createPostgresSource(name, config);
    }
    case "mysql":
    case "vonigo":
    case "imap":
      throw new TributaryError(`the ${config.type} source (${name}) is not implemented yet in this version`, {
        code: "SOURCE_NOT_IMPLEMENTED",
        hint: "only postgres sources can be captured in this version",
      });
  }
}
