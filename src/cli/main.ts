/**
 * The `tributary` dispatcher: global options, then the command from the table in commands.ts,
 * run by its handler below. Returns the exit code; bin/tributary.js sets it.
 */
import { parseArgs } from "node:util";
import { ConfigError, TributaryError } from "../core/errors.js";
import { capture } from "./capture.js";
import { type CommandSpec, findCommand } from "./commands.js";
import { configCheck } from "./config-check.js";
import { helpText, packageVersion } from "./help.js";
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, processIo } from "./io.js";
import { sinkCommand } from "./sink.js";
import { up } from "./up.js";

/** A command's implementation: gets the arguments after its words (global options included). */
export type CommandHandler = (args: string[], io: CliIo) => Promise<number>;

/** Commands of the table that have an implementation in this build, keyed by their words. */
const handlers: Readonly<Record<string, CommandHandler>> = {
  "config check": configCheck,
  capture,
  sink: sinkCommand,
  up,
};

const globalOptions = {
  config: { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
} as const;

function commandName(command: CommandSpec): string {
  return command.words.join(" ");
}

/** The arguments without the command's words, wherever global options put them. */
function argumentsAfterWords(argv: string[], wordIndexes: readonly number[]): string[] {
  return argv.filter((_, index) => !wordIndexes.includes(index));
}

async function dispatch(argv: string[], io: CliIo): Promise<number> {
  // Not strict: each command parses its own options strictly; here only the globals matter.
  const { values, tokens } = parseArgs({
    args: argv,
    options: globalOptions,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  if (values.version) {
    io.out(packageVersion());
    return EXIT_OK;
  }
  const positionals = tokens.filter((token) => token.kind === "positional");
  if (values.help || positionals[0]?.value === "help") {
    io.out(helpText());
    return EXIT_OK;
  }
  if (positionals.length === 0) {
    io.err(helpText());
    return EXIT_USAGE;
  }
  const command = findCommand(positionals.map((token) => token.value));
  if (!command) {
    io.err(`tributary: unknown command "${positionals[0]?.value}"; run tributary --help for the list`);
    return EXIT_USAGE;
  }
  const name = commandName(command);
  const handler = handlers[name];
  if (!handler) {
    io.err(`tributary ${name}: not implemented yet in this version`);
    return EXIT_USAGE;
  }
  const wordIndexes = positionals.slice(0, command.words.length).map((token) => token.index);
  try {
    return await handler(argumentsAfterWords(argv, wordIndexes), io);
  } catch (error) {
    // parseArgs reports bad options with this code: a usage problem, not a failure.
    if ((error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      io.err(`tributary ${name}: ${(error as Error).message}`);
      io.err(`usage: tributary ${command.usage}`);
      return EXIT_USAGE;
    }
    throw error;
  }
}

/** Runs the CLI; every failure becomes a message and an exit code, never a stack trace. */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const problem of error.problems) io.err(problem);
      return EXIT_USAGE;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.err(`tributary: ${message}`);
    if (error instanceof TributaryError && error.hint) io.err(`hint: ${error.hint}`);
    return EXIT_FAILURE;
  }
}
