/**
 * Static checks of docker-compose.yml, .env.example, compose/tributary.yaml and the Dockerfile.
 * Each check returns a list of problems (empty when all is well), so a test can both assert a
 * clean result for the real files and prove, on fake documents, that a check does catch a fault.
 */
import type { CommandSpec } from "../../src/cli/commands.js";

export type Yaml = Record<string, unknown>;

export interface ComposeDoc {
  services?: Record<string, Yaml>;
  volumes?: Record<string, unknown> | null;
  [key: string]: unknown;
}

function isRecord(value: unknown): value is Yaml {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function services(doc: ComposeDoc): [string, Yaml][] {
  return Object.entries(doc.services ?? {}).map(([name, service]) => [
    name,
    isRecord(service) ? service : {},
  ]);
}

// ---- variables ---------------------------------------------------------------------------------

export interface VariableRef {
  name: string;
  /** true for ${VAR:-x}, ${VAR-x}, ${VAR:+x} and ${VAR+x}: the variable may be unset. */
  hasDefault: boolean;
  /** The default text of ${VAR:-x} / ${VAR-x}, when there is one. */
  defaultValue?: string;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/** Finds the end of a `${...}` expression starting at `open` (the index of `{`), honouring nesting. */
function closingBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === "{") depth++;
    else if (text[i] === "}") {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/**
 * The variables a compose string interpolates: `$VAR`, `${VAR}`, `${VAR:-default}`,
 * `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`, `${VAR:+alt}`, nested defaults such as
 * `${A:-${B}}`; `$$` is a literal dollar sign.
 */
export function variableRefs(text: string): VariableRef[] {
  const refs: VariableRef[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== "$") continue;
    const next = text[i + 1];
    if (next === "$") {
      i++;
      continue;
    }
    if (next === "{") {
      const close = closingBrace(text, i + 1);
      if (close < 0) throw new Error(`unterminated \${ in ${JSON.stringify(text)}`);
      const body = text.slice(i + 2, close);
      const name = NAME.exec(body)?.[0];
      if (!name) throw new Error(`bad variable reference \${${body}} in ${JSON.stringify(text)}`);
      const rest = body.slice(name.length);
      const operator = /^(:-|-|:\?|\?|:\+|\+)?/.exec(rest)?.[0] ?? "";
      const operand = rest.slice(operator.length);
      if (operator === "" && rest !== "") {
        throw new Error(`bad variable reference \${${body}} in ${JSON.stringify(text)}`);
      }
      const hasDefault = operator === ":-" || operator === "-" || operator === ":+" || operator === "+";
      const ref: VariableRef = { name, hasDefault };
      if (operator === ":-" || operator === "-") ref.defaultValue = operand;
      refs.push(ref);
      refs.push(...variableRefs(operand));
      i = close;
      continue;
    }
    const name = NAME.exec(text.slice(i + 1))?.[0];
    if (name) {
      refs.push({ name, hasDefault: false });
      i += name.length;
    }
  }
  return refs;
}

/** Every string value in a YAML tree (compose interpolates values, not keys). */
export function stringValues(node: unknown): string[] {
  if (typeof node === "string") return [node];
  if (Array.isArray(node)) return node.flatMap(stringValues);
  if (isRecord(node)) return Object.values(node).flatMap(stringValues);
  return [];
}

/** Parses a dotenv file: `NAME=value` lines, `#` comments, optional quotes around the value. */
export function parseEnvFile(text: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) throw new Error(`not a NAME=value line: ${raw}`);
    let value = match[2] ?? "";
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    env.set(match[1] as string, value);
  }
  return env;
}

/** Replaces variable references the way compose would, from `env` and the inline defaults. */
export function interpolate(text: string, env: ReadonlyMap<string, string>): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char !== "$") {
      out += char;
      continue;
    }
    const next = text[i + 1];
    if (next === "$") {
      out += "$";
      i++;
      continue;
    }
    if (next === "{") {
      const close = closingBrace(text, i + 1);
      const body = text.slice(i + 2, close);
      const name = NAME.exec(body)?.[0] ?? "";
      const rest = body.slice(name.length);
      const operator = /^(:-|-|:\?|\?|:\+|\+)?/.exec(rest)?.[0] ?? "";
      const operand = interpolate(rest.slice(operator.length), env);
      const value = env.get(name);
      const set = value !== undefined;
      const nonEmpty = set && value !== "";
      if (operator === ":-") out += nonEmpty ? value : operand;
      else if (operator === "-") out += set ? value : operand;
      else if (operator === ":+") out += nonEmpty ? operand : "";
      else if (operator === "+") out += set ? operand : "";
      else out += value ?? "";
      i = close;
      continue;
    }
    const name = NAME.exec(text.slice(i + 1))?.[0];
    if (name) {
      out += env.get(name) ?? "";
      i += name.length;
    } else out += char;
  }
  return out;
}

/** Variables referenced without a default that `.env.example` does not define. */
export function checkVariablesDefined(texts: readonly string[], env: ReadonlyMap<string, string>): string[] {
  const missing = new Set<string>();
  for (const text of texts) {
    for (const ref of variableRefs(text)) {
      if (!ref.hasDefault && !env.has(ref.name)) missing.add(ref.name);
    }
  }
  return [...missing]
    .sort()
    .map((name) => `\${${name}} is used without a default but not defined in .env.example`);
}

// ---- services ----------------------------------------------------------------------------------

function hasHealthcheck(service: Yaml): boolean {
  const check = service.healthcheck;
  return isRecord(check) && check.disable !== true && check.test !== undefined && check.test !== "NONE";
}

/** True for a service built from this repository's Dockerfile (or using its image). */
export function isTributaryService(service: Yaml, env: ReadonlyMap<string, string> = new Map()): boolean {
  const build = service.build;
  const context = typeof build === "string" ? build : isRecord(build) ? build.context : undefined;
  if (typeof context === "string" && [".", "./", ""].includes(context.trim())) {
    const dockerfile = isRecord(build) ? build.dockerfile : undefined;
    if (dockerfile === undefined || dockerfile === "Dockerfile" || dockerfile === "./Dockerfile") return true;
  }
  const image = typeof service.image === "string" ? interpolate(service.image, env) : "";
  return /^(?:[^/]+\/)*tributary(?::[^/]*)?$/.test(image);
}

/**
 * `depends_on`: every target exists, and `condition: service_healthy` only names services with a
 * healthcheck (their own, or the Dockerfile's HEALTHCHECK for Tributary services).
 */
export function checkDependsOn(doc: ComposeDoc, dockerfileHasHealthcheck = false): string[] {
  const problems: string[] = [];
  const all = new Map(services(doc));
  for (const [name, service] of all) {
    const dependsOn = service.depends_on;
    if (dependsOn === undefined) continue;
    const entries: [string, unknown][] = Array.isArray(dependsOn)
      ? dependsOn.map((target) => [String(target), undefined])
      : isRecord(dependsOn)
        ? Object.entries(dependsOn)
        : [];
    for (const [target, spec] of entries) {
      const targetService = all.get(target);
      if (!targetService) {
        problems.push(`${name}: depends_on names "${target}", which is not a service`);
        continue;
      }
      const condition = isRecord(spec) ? spec.condition : undefined;
      const healthy =
        hasHealthcheck(targetService) || (dockerfileHasHealthcheck && isTributaryService(targetService));
      if (condition === "service_healthy" && !healthy) {
        problems.push(`${name}: waits for "${target}" to be healthy, but "${target}" has no healthcheck`);
      }
      if (
        condition !== undefined &&
        !["service_started", "service_healthy", "service_completed_successfully"].includes(String(condition))
      ) {
        problems.push(`${name}: depends_on "${target}" has an unknown condition "${String(condition)}"`);
      }
    }
  }
  return problems;
}

/** Every service has a healthcheck (or inherits the Dockerfile's) and a restart policy. */
export function checkHealthAndRestart(doc: ComposeDoc, dockerfileHasHealthcheck = false): string[] {
  const problems: string[] = [];
  for (const [name, service] of services(doc)) {
    const inherits =
      dockerfileHasHealthcheck && isTributaryService(service) && service.healthcheck === undefined;
    if (!hasHealthcheck(service) && !inherits) problems.push(`${name}: no healthcheck`);
    const restart = service.restart;
    if (typeof restart !== "string" || !/^(no|always|unless-stopped|on-failure(:\d+)?)$/.test(restart)) {
      problems.push(`${name}: no valid restart policy (got ${JSON.stringify(restart)})`);
    }
  }
  return problems;
}

/** Host ports each service publishes, after interpolation, as "port/protocol" strings. */
export function publishedPorts(service: Yaml, env: ReadonlyMap<string, string>): string[] {
  const ports = service.ports;
  if (!Array.isArray(ports)) return [];
  const out: string[] = [];
  for (const entry of ports) {
    let published: string | undefined;
    let protocol = "tcp";
    if (isRecord(entry)) {
      if (entry.published !== undefined) published = interpolate(String(entry.published), env);
      if (typeof entry.protocol === "string") protocol = entry.protocol;
    } else {
      let text = interpolate(String(entry), env);
      const slash = text.lastIndexOf("/");
      if (slash >= 0) {
        protocol = text.slice(slash + 1);
        text = text.slice(0, slash);
      }
      const parts = text.split(":");
      // "container", "host:container" or "ip:host:container"
      if (parts.length >= 2) published = parts[parts.length - 2];
    }
    if (published === undefined || published === "") continue;
    const range = /^(\d+)-(\d+)$/.exec(published);
    if (range) {
      for (let port = Number(range[1]); port <= Number(range[2]); port++) out.push(`${port}/${protocol}`);
    } else out.push(`${published}/${protocol}`);
  }
  return out;
}

/** No two services (nor one service twice) publish the same host port. */
export function checkHostPorts(doc: ComposeDoc, env: ReadonlyMap<string, string>): string[] {
  const owners = new Map<string, string>();
  const problems: string[] = [];
  for (const [name, service] of services(doc)) {
    for (const port of publishedPorts(service, env)) {
      const owner = owners.get(port);
      if (owner !== undefined) problems.push(`host port ${port} is published by both ${owner} and ${name}`);
      else owners.set(port, name);
    }
  }
  return problems;
}

/** Named volumes a service mounts (short or long syntax); bind mounts and tmpfs are skipped. */
export function namedVolumes(service: Yaml): string[] {
  const volumes = service.volumes;
  if (!Array.isArray(volumes)) return [];
  const names: string[] = [];
  for (const entry of volumes) {
    if (isRecord(entry)) {
      if ((entry.type ?? "volume") === "volume" && typeof entry.source === "string") names.push(entry.source);
      continue;
    }
    const parts = String(entry).split(":");
    if (parts.length < 2) continue; // an anonymous volume
    const source = parts[0] as string;
    if (/^[.~/$]/.test(source)) continue; // a bind mount
    names.push(source);
  }
  return names;
}

/** Every named volume used is declared at the top level, and every declared one is used. */
export function checkVolumes(doc: ComposeDoc): string[] {
  const declared = new Set(Object.keys(doc.volumes ?? {}));
  const used = new Set<string>();
  const problems: string[] = [];
  for (const [name, service] of services(doc)) {
    for (const volume of namedVolumes(service)) {
      used.add(volume);
      if (!declared.has(volume)) problems.push(`${name}: volume "${volume}" is not declared under volumes:`);
    }
  }
  for (const volume of declared) {
    if (!used.has(volume)) problems.push(`volume "${volume}" is declared but no service uses it`);
  }
  return problems;
}

const SECRET_KEY = /(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|API_KEY|ACCESS_KEY|CREDENTIAL)/i;

/**
 * No literal secrets: a secret-looking environment variable must take its value from a variable
 * (`${...}`) or point at a file (`*_FILE: /run/secrets/...`), and no URL embeds a literal password.
 */
export function checkNoLiteralSecrets(doc: ComposeDoc): string[] {
  const problems: string[] = [];
  for (const [name, service] of services(doc)) {
    const environment = service.environment;
    const pairs: [string, unknown][] = Array.isArray(environment)
      ? environment.map((item) => {
          const text = String(item);
          const eq = text.indexOf("=");
          return eq < 0 ? [text, undefined] : [text.slice(0, eq), text.slice(eq + 1)];
        })
      : isRecord(environment)
        ? Object.entries(environment)
        : [];
    for (const [key, value] of pairs) {
      if (!SECRET_KEY.test(key) || value === undefined || value === null) continue;
      const text = String(value);
      const fromVariable = variableRefs(text).length > 0;
      const isFile = /_FILE$/i.test(key) && text.startsWith("/");
      if (!fromVariable && !isFile)
        problems.push(`${name}: ${key} has a literal value; use \${${key}} from .env`);
    }
    for (const text of stringValues(service)) {
      const credentials = /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:([^@\s]+)@/i.exec(text);
      if (credentials && !(credentials[1] ?? "").includes("${")) {
        problems.push(`${name}: a URL with a literal password: ${text}`);
      }
    }
  }
  return problems;
}

// ---- Tributary commands ------------------------------------------------------------------------

export interface TributaryConfigNames {
  sources: readonly string[];
  sinks: readonly string[];
}

/** argv of a compose `command` (array or string), without leading global options. */
export function commandArgv(command: unknown): string[] | undefined {
  if (Array.isArray(command)) return command.map(String);
  if (typeof command === "string") return command.trim().split(/\s+/).filter(Boolean);
  return undefined;
}

function withoutGlobalOptions(argv: readonly string[]): string[] {
  const rest = [...argv];
  while (rest[0]?.startsWith("--config")) rest.splice(0, rest[0] === "--config" ? 2 : 1);
  return rest;
}

/** The positional arguments a usage line requires after the command words, e.g. ["source"]. */
function requiredPositionals(spec: CommandSpec): string[] {
  const tokens = spec.usage.split(/\s+/).slice(spec.words.length);
  const required: string[] = [];
  for (const token of tokens) {
    if (token.startsWith("-") || token.startsWith("[")) break;
    const match = /^<([^>]+)>$/.exec(token);
    if (match) required.push(match[1] as string);
  }
  return required;
}

/**
 * Every service built from the project's Dockerfile runs a command from the command table with
 * its required arguments; `capture <source>` and `sink <sink>` must name a source or sink of the
 * compose config.
 */
export function checkTributaryCommands(
  doc: ComposeDoc,
  findCommand: (argv: readonly string[]) => CommandSpec | undefined,
  config: TributaryConfigNames,
  env: ReadonlyMap<string, string> = new Map(),
): string[] {
  const problems: string[] = [];
  for (const [name, service] of services(doc)) {
    if (!isTributaryService(service, env)) continue;
    const raw = commandArgv(service.command);
    if (raw === undefined) {
      problems.push(`${name}: a Tributary service needs a command (e.g. ["capture", "<source>"])`);
      continue;
    }
    const argv = withoutGlobalOptions(raw.map((arg) => interpolate(arg, env)));
    const spec = findCommand(argv);
    if (!spec) {
      problems.push(`${name}: "${argv.join(" ")}" is not a tributary command`);
      continue;
    }
    const args = argv.slice(spec.words.length);
    const positionals = args.filter((arg) => !arg.startsWith("-"));
    const required = requiredPositionals(spec);
    if (positionals.length < required.length) {
      problems.push(
        `${name}: "${argv.join(" ")}" is missing <${required.slice(positionals.length).join("> <")}>`,
      );
      continue;
    }
    const verb = spec.words.join(" ");
    const target = positionals[0];
    if (verb === "capture" && target !== undefined && !config.sources.includes(target)) {
      problems.push(`${name}: captures "${target}", which is not a source in compose/tributary.yaml`);
    }
    if (verb === "sink" && target !== undefined && !config.sinks.includes(target)) {
      problems.push(`${name}: runs sink "${target}", which is not a sink in compose/tributary.yaml`);
    }
  }
  return problems;
}

// ---- compose/tributary.yaml --------------------------------------------------------------------

function hostOf(address: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(address)) return new URL(address).hostname;
  return address.replace(/:\d+$/, "");
}

/** The hostnames a Tributary config connects to, with where each one is named. */
export function configHosts(config: Yaml): { where: string; host: string }[] {
  const hosts: { where: string; host: string }[] = [];
  const kafka = isRecord(config.kafka) ? config.kafka : {};
  if (Array.isArray(kafka.brokers)) {
    kafka.brokers.forEach((broker, i) => {
      hosts.push({ where: `kafka.brokers[${i}]`, host: hostOf(String(broker)) });
    });
  }
  const registry = isRecord(config.schemaRegistry) ? config.schemaRegistry : {};
  if (typeof registry.url === "string")
    hosts.push({ where: "schemaRegistry.url", host: hostOf(registry.url) });
  for (const section of ["sources", "sinks"] as const) {
    const entries = isRecord(config[section]) ? (config[section] as Yaml) : {};
    for (const [name, value] of Object.entries(entries)) {
      if (!isRecord(value)) continue;
      const connection = isRecord(value.connection) ? value.connection : {};
      if (typeof connection.host === "string") {
        hosts.push({ where: `${section}.${name}.connection.host`, host: hostOf(connection.host) });
      }
      if (typeof value.host === "string")
        hosts.push({ where: `${section}.${name}.host`, host: hostOf(value.host) });
      if (typeof value.baseUrl === "string") {
        hosts.push({ where: `${section}.${name}.baseUrl`, host: hostOf(value.baseUrl) });
      }
    }
  }
  return hosts;
}

/** Every hostname in the compose config (after reading `${VAR}` from .env.example) is a service. */
export function checkConfigHosts(config: Yaml, doc: ComposeDoc, env: ReadonlyMap<string, string>): string[] {
  const names = new Set(Object.keys(doc.services ?? {}));
  return configHosts(config)
    .map(({ where, host }) => ({ where, host: interpolate(host, env) }))
    .filter(({ host }) => !names.has(host))
    .map(({ where, host }) => `${where}: "${host}" is not a compose service`);
}

// ---- Dockerfile --------------------------------------------------------------------------------

export interface DockerInstruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions, with line continuations joined and comments dropped. */
export function parseDockerfile(text: string): DockerInstruction[] {
  const instructions: DockerInstruction[] = [];
  let pending = "";
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith("#") || (line === "" && pending === "")) continue;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = "";
    if (full === "") continue;
    const match = /^(\S+)\s*(.*)$/.exec(full);
    if (match) instructions.push({ keyword: (match[1] as string).toUpperCase(), args: match[2] ?? "" });
  }
  return instructions;
}

/** Multi-stage, a non-root USER in the final stage, ENTRYPOINT running bin/tributary.js. */
export function checkDockerfile(text: string): string[] {
  const instructions = parseDockerfile(text);
  const problems: string[] = [];
  const froms = instructions.filter((i) => i.keyword === "FROM");
  if (froms.length < 2)
    problems.push(`expected a multi-stage build (at least 2 FROM), found ${froms.length}`);
  const lastFrom = instructions.map((i) => i.keyword).lastIndexOf("FROM");
  const finalStage = instructions.slice(lastFrom + 1);
  const user = finalStage.filter((i) => i.keyword === "USER").at(-1);
  const userName = user?.args.split(":")[0]?.trim();
  if (!userName) problems.push("the final stage sets no USER, so it runs as root");
  else if (userName === "root" || userName === "0") problems.push(`the final stage runs as ${userName}`);
  const entrypoint = finalStage.filter((i) => i.keyword === "ENTRYPOINT").at(-1);
  if (!entrypoint) problems.push("the final stage has no ENTRYPOINT");
  else {
    let argv: unknown;
    try {
      argv = JSON.parse(entrypoint.args);
    } catch {
      argv = undefined;
    }
    if (!Array.isArray(argv)) problems.push("ENTRYPOINT should use the exec (JSON array) form");
    else if (!argv.some((arg) => String(arg).replace(/^\.?\/?(app\/)?/, "") === "bin/tributary.js")) {
      problems.push(`ENTRYPOINT ${entrypoint.args} does not run bin/tributary.js`);
    }
  }
  return problems;
}

export function dockerfileHasHealthcheck(text: string): boolean {
  const instructions = parseDockerfile(text);
  const lastFrom = instructions.map((i) => i.keyword).lastIndexOf("FROM");
  return instructions
    .slice(lastFrom + 1)
    .some((i) => i.keyword === "HEALTHCHECK" && !/^NONE\b/i.test(i.args.trim()));
}
