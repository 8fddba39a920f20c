/** The text of `tributary --help`, built from the command table. */
import { readFileSync } from "node:fs";
import { CONFIG_ENV_VARIABLE, DEFAULT_CONFIG_FILE } from "../core/config/load.js";
import { commands } from "./commands.js";

/** The package version; package.json sits two levels up from both src/cli and dist/cli. */
export function packageVersion(): string {
  const packageJson = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  return String(packageJson.version);
}

function table(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}

export function helpText(): string {
  return [
    "Usage: tributary [--config <file>] <command> [options]",
    "",
    "Change-data-capture from Postgres, MySQL, Vonigo and IMAP through Kafka into Redshift.",
    "",
    "Commands:",
    ...commands.flatMap((command) => [`  tributary ${command.usage}`, `      ${command.summary}`]),
    "",
    "Global options:",
    ...table([
      [
        "--config <file>",
        `the config file (default: ${DEFAULT_CONFIG_FILE}, or the ${CONFIG_ENV_VARIABLE} environment variable)`,
      ],
      ["-h, --help", "show this help"],
      ["-V, --version", "print the version"],
    ]),
  ].join("\n");
}
