/**
 * Reading a config file: YAML, then `${VAR}` interpolation, then the schema (which reads the
 * `...File` secrets). Every problem found is reported at once, as a ConfigError.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseDocument } from "yaml";
import { ConfigError } from "../errors.js";
import { type InterpolationProblem, interpolateEnv } from "./interpolate.js";
import { formatIssue, formatPath } from "./issues.js";
import { createConfigSchema, type TributaryConfig } from "./schema.js";

export const DEFAULT_CONFIG_FILE = "tributary.yaml";
export const CONFIG_ENV_VARIABLE = "TRIBUTARY_CONFIG";

export interface ConfigSourceOptions {
  /** Where `${VAR}` values come from; default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Reads `...File` secrets; default fs.readFileSync as UTF-8. */
  readonly readFile?: (absolutePath: string) => string;
}

const readUtf8 = (path: string) => readFileSync(path, "utf8");

/** `--config` if given, else TRIBUTARY_CONFIG, else tributary.yaml. */
export function resolveConfigPath(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string {
  return explicit ?? (env[CONFIG_ENV_VARIABLE] || DEFAULT_CONFIG_FILE);
}

function yamlProblems(file: string, errors: readonly { message: string; linePos?: unknown }[]): string[] {
  return errors.map((error) => {
    const position = (error.linePos as { line: number; col: number }[] | undefined)?.[0];
    const reason = (error.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
    return position ? `${file}:${position.line}:${position.col}: ${reason}` : `${file}: ${reason}`;
  });
}

/** Parses and validates config text; `file` names it in messages and anchors relative secret paths. */
export function parseConfig(text: string, file: string, options: ConfigSourceOptions = {}): TributaryConfig {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) throw new ConfigError(yamlProblems(file, document.errors));
  const tree: unknown = document.toJS();
  if (tree === null || tree === undefined) throw new ConfigError([`${file}: the config file is empty`]);

  const interpolationProblems: InterpolationProblem[] = [];
  const interpolated = interpolateEnv(tree, options.env ?? process.env, interpolationProblems);
  const schema = createConfigSchema({
    baseDir: dirname(resolve(file)),
    readFile: options.readFile ?? readUtf8,
  });
  const result = schema.safeParse(interpolated, { reportInput: true });

  const problems = interpolationProblems.map((problem) => `${formatPath(problem.path)}: ${problem.message}`);
  // A field whose variable is unset has no value to judge: report only the unset variable.
  const unsetPrefixes = interpolationProblems.map((problem) => `${formatPath(problem.path)}:`);
  if (!result.success) {
    const schemaProblems = result.error.issues.flatMap((issue) => formatIssue(issue));
    problems.push(
      ...schemaProblems.filter((line) => !unsetPrefixes.some((prefix) => line.startsWith(prefix))),
    );
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return result.data;
}

/** Reads and validates a config file; throws ConfigError naming the file when it cannot be read. */
export function loadConfig(file: string, options: ConfigSourceOptions = {}): TributaryConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code ?? "read failed";
    const reason = code === "ENOENT" ? "ENOENT: no such file" : code;
    const hint = `pass another file with --config <file> or the ${CONFIG_ENV_VARIABLE} environment variable`;
    throw new ConfigError([`cannot read config file ${file} (${reason}); ${hint}`], { hint, cause: error });
  }
  return parseConfig(text, file, options);
}
