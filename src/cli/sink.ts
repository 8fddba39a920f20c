/**
 * `tributary sink <sink>`: runs one warehouse sink from the config, with /healthz, /readyz and
 * /metrics on the sink's `http` endpoint, until SIGTERM/SIGINT. On shutdown the in-flight batch
 * either finishes (its offsets committed after the warehouse commit) or is abandoned with nothing
 * committed; either way nothing unapplied is ever committed.
 */
import { parseArgs } from "node:util";
import { loadConfig, resolveConfigPath } from "../core/config/load.js";
import { type CliIo, EXIT_USAGE } from "./io.js";
import { runSingleService, sinkService } from "./services.js";

export async function sinkCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { config: { type: "string" } },
    strict: true,
    allowPositionals: true,
  });
  const [sinkName, ...extra] = positionals;
  if (sinkName === undefined || extra.length > 0) {
    io.err("usage: tributary sink <sink> [--config <file>]");
    return EXIT_USAGE;
  }
  const config = loadConfig(resolveConfigPath(values.config, io.env), { env: io.env });
  return runSingleService(sinkService(sinkName, config), io);
}
