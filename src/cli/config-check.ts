/** `tributary config check`: validates the config file and says exactly what is wrong where. */
import { parseArgs } from "node:util";
import { loadConfig, resolveConfigPath } from "../core/config/load.js";
import { ConfigError } from "../core/errors.js";
import { type CliIo, EXIT_OK, EXIT_USAGE } from "./io.js";

export async function configCheck(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: "string" } }, strict: true });
  const file = resolveConfigPath(values.config, io.env);
  try {
    const config = loadConfig(file, { env: io.env });
    const sources = Object.keys(config.sources).length;
    const sinks = Object.keys(config.sinks).length;
    io.out(
      `config ok: ${file} (${sources} ${sources === 1 ? "source" : "sources"}, ${sinks} ${sinks === 1 ? "sink" : "sinks"})`,
    );
    return EXIT_OK;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) io.err(problem);
    return EXIT_USAGE;
  }
}
