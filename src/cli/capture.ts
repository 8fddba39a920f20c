/**
 * `tributary capture <source>`: one source from the config into Kafka, with /healthz, /readyz and
 * /metrics on the source's `http` endpoint, until SIGTERM/SIGINT (or a failure that needs a human).
 */
import { parseArgs } from "node:util";
import { loadConfig, resolveConfigPath } from "../core/config/load.js";
import { type CliIo, EXIT_USAGE } from "./io.js";
import { captureService, runSingleService } from "./services.js";

export async function capture(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { config: { type: "string" } },
    strict: true,
    allowPositionals: true,
  });
  const [sourceName, ...extra] = positionals;
  if (sourceName === undefined || extra.length > 0) {
    io.err("usage: tributary capture <source> [--config <file>]");
    return EXIT_USAGE;
  }
  const config = loadConfig(resolveConfigPath(values.config, io.env), { env: io.env });
  return runSingleService(await captureService(sourceName, config), io);
}
