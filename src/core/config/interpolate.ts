/**
 * `${VAR}` interpolation from the environment, in every string of the parsed YAML tree
 * (also inside longer strings: "https://${HOST}/x"); `${VAR:-fallback}` uses the fallback when VAR is
 * unset or empty, as in shells and docker compose; `$${` writes a literal `${`.
 */

export interface InterpolationProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

const REFERENCE = /\$\$\{|\$\{([^}]*)\}/g;
const FALLBACK_SEPARATOR = ":-";
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function interpolateString(
  text: string,
  env: NodeJS.ProcessEnv,
  path: readonly (string | number)[],
  problems: InterpolationProblem[],
): string {
  return text.replace(REFERENCE, (whole, name: string | undefined) => {
    if (whole === "$${") return "${";
    const reference = name ?? "";
    const separator = reference.indexOf(FALLBACK_SEPARATOR);
    const variable = (separator < 0 ? reference : reference.slice(0, separator)).trim();
    const fallback = separator < 0 ? undefined : reference.slice(separator + FALLBACK_SEPARATOR.length);
    if (!VARIABLE_NAME.test(variable)) {
      problems.push({ path, message: `invalid environment variable reference \${${name ?? ""}}` });
      return "";
    }
    const value = env[variable];
    if (fallback !== undefined && (value === undefined || value === "")) return fallback;
    if (value === undefined) {
      problems.push({ path, message: `environment variable ${variable} is not set` });
      return "";
    }
    return value;
  });
}

/** A copy of `tree` with every reference replaced; references to unset variables become problems. */
export function interpolateEnv(
  tree: unknown,
  env: NodeJS.ProcessEnv,
  problems: InterpolationProblem[],
  path: readonly (string | number)[] = [],
): unknown {
  if (typeof tree === "string") return interpolateString(tree, env, path, problems);
  if (Array.isArray(tree))
    return tree.map((item, index) => interpolateEnv(item, env, problems, [...path, index]));
  if (tree !== null && typeof tree === "object") {
    return Object.fromEntries(
      Object.entries(tree).map(([key, value]) => [key, interpolateEnv(value, env, problems, [...path, key])]),
    );
  }
  return tree;
}
