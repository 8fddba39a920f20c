/**
 * The source factory: a connector by the `type` of its config entry. Each connector is imported
 * only when used, so a capture of one source never loads the others' drivers.
 */
import type { SourceConfig } from "../core/config/index.js";
import { TributaryError } from "../core/errors.js";
import type { Source } from "../core/source.js";

export async function createSource(name: string, config: SourceConfig): Promise<Source> {
  switch (config.type) {
    case "postgres": {
      const { createPostgresSource } = await import("./postgres/source.js");
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
