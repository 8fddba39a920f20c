/** biome-ignore-all lint/suspicious/noTemplateCurlyInString: compose ${VAR} syntax is what these tests are about */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { findCommand } from "../../src/cli/commands.js";
import { parseConfig } from "../../src/core/config/index.js";
import {
  type ComposeDoc,
  checkConfigHosts,
  checkDependsOn,
  checkDockerfile,
  checkHealthAndRestart,
  checkHostPorts,
  checkNoLiteralSecrets,
  checkTributaryCommands,
  checkVariablesDefined,
  checkVolumes,
  dockerfileHasHealthcheck,
  interpolate,
  parseEnvFile,
  stringValues,
  variableRefs,
  type Yaml,
} from "./checks.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const read = (path: string) => readFileSync(`${root}${path}`, "utf8");

const compose = parse(read("docker-compose.yml"), { merge: true }) as ComposeDoc;
const env = parseEnvFile(read(".env.example"));
const config = parse(read("compose/tributary.yaml")) as Yaml;
const dockerfile = read("Dockerfile");
const imageHealthcheck = dockerfileHasHealthcheck(dockerfile);
const configNames = {
  sources: Object.keys((config.sources as Yaml | undefined) ?? {}),
  sinks: Object.keys((config.sinks as Yaml | undefined) ?? {}),
};

describe("docker-compose.yml", () => {
  it("is a Compose spec file with services and no version key", () => {
    expect(compose).toBeTypeOf("object");
    expect(compose).not.toHaveProperty("version");
    expect(Object.keys(compose.services ?? {}).length).toBeGreaterThan(0);
  });

  it("depends_on names existing services and waits for health only where there is a healthcheck", () => {
    expect(checkDependsOn(compose, imageHealthcheck)).toEqual([]);
  });

  it("gives every service a healthcheck and a restart policy", () => {
    expect(checkHealthAndRestart(compose, imageHealthcheck)).toEqual([]);
  });

  it("defines in .env.example every variable used without a default", () => {
    expect(checkVariablesDefined(stringValues(compose), env)).toEqual([]);
  });

  it("publishes each host port from one service only", () => {
    expect(checkHostPorts(compose, env)).toEqual([]);
    // and with the inline defaults alone (no .env at all)
    expect(checkHostPorts(compose, new Map())).toEqual([]);
  });

  it("declares every named volume it uses and uses every one it declares", () => {
    expect(checkVolumes(compose)).toEqual([]);
  });

  it("commits no literal secrets", () => {
    expect(checkNoLiteralSecrets(compose)).toEqual([]);
  });

  it("runs only commands from the command table in Tributary containers", () => {
    expect(checkTributaryCommands(compose, findCommand, configNames, env)).toEqual([]);
  });
});

describe("compose/tributary.yaml", () => {
  it("parses and has the config's top-level shape", () => {
    expect(config).toBeTypeOf("object");
    expect(Object.keys(config).sort()).toEqual(["dashboard", "kafka", "schemaRegistry", "sinks", "sources"]);
    expect(configNames.sources).toEqual(expect.arrayContaining(["infoportal", "obe", "bimail"]));
    expect(configNames.sinks).toEqual(["warehouse"]);
  });

  it("passes Tributary's own config validation with the variables of .env.example", () => {
    const files: string[] = [];
    const parsed = parseConfig(read("compose/tributary.yaml"), "compose/tributary.yaml", {
      env: Object.fromEntries(env),
      readFile: (path) => {
        files.push(path);
        return "-----BEGIN CERTIFICATE-----\n(stand-in)\n-----END CERTIFICATE-----\n";
      },
    });
    expect(Object.keys(parsed.sources).sort()).toEqual(["bimail", "infoportal", "obe"]);
    expect(files).toEqual(["/run/imap-tls/cert.pem"]);
  });

  it("connects only to compose services", () => {
    expect(checkConfigHosts(config, compose, env)).toEqual([]);
  });

  it("reads every ${VAR} it uses from a variable defined in .env.example", () => {
    expect(checkVariablesDefined(stringValues(config), env)).toEqual([]);
  });
});

describe(".env.example", () => {
  it("holds placeholders, not real secrets", () => {
    for (const [name, value] of env) {
      if (/PASSWORD|SECRET|TOKEN/.test(name)) expect(value, name).toMatch(/^change-me/);
    }
  });
});

describe("Dockerfile", () => {
  it("is multi-stage, runs as a non-root user and enters through bin/tributary.js", () => {
    expect(checkDockerfile(dockerfile)).toEqual([]);
  });

  it("installs production dependencies only in the runtime stage", () => {
    const finalStage = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
    expect(finalStage).toMatch(/npm ci [^\n]*--omit=dev/);
    expect(imageHealthcheck).toBe(true);
  });
});

// ---- the checkers themselves, on documents that are wrong on purpose ---------------------------

const healthy = { healthcheck: { test: ["CMD", "true"] }, restart: "unless-stopped" };

describe("the compose checkers", () => {
  it("reject a Tributary service with an unknown command", () => {
    const doc: ComposeDoc = {
      services: {
        good: { ...healthy, build: ".", command: ["capture", "infoportal"] },
        typo: { ...healthy, build: ".", command: ["captur", "infoportal"] },
        byImage: { ...healthy, image: "tributary:local", command: "lag --watch" },
        badImage: { ...healthy, image: "${TRIBUTARY_IMAGE:-tributary}", command: ["config", "lint"] },
        other: { ...healthy, image: "postgres:17", command: ["postgres", "-c", "wal_level=logical"] },
      },
    };
    expect(checkTributaryCommands(doc, findCommand, configNames)).toEqual([
      'typo: "captur infoportal" is not a tributary command',
      'badImage: "config lint" is not a tributary command',
    ]);
  });

  it("reject a missing command, a missing argument and an unknown source or sink", () => {
    const doc: ComposeDoc = {
      services: {
        bare: { ...healthy, build: { context: "." } },
        noSource: { ...healthy, build: ".", command: ["capture"] },
        unknownSource: { ...healthy, build: ".", command: ["--config", "/x.yaml", "capture", "nope"] },
        unknownSink: { ...healthy, build: ".", command: ["sink", "lake"] },
        check: { ...healthy, build: ".", command: ["config", "check"] },
      },
    };
    expect(checkTributaryCommands(doc, findCommand, configNames)).toEqual([
      'bare: a Tributary service needs a command (e.g. ["capture", "<source>"])',
      'noSource: "capture" is missing <source>',
      'unknownSource: captures "nope", which is not a source in compose/tributary.yaml',
      'unknownSink: runs sink "lake", which is not a sink in compose/tributary.yaml',
    ]);
  });

  it("pass when there is no Tributary service at all", () => {
    expect(
      checkTributaryCommands(
        { services: { db: { ...healthy, image: "postgres:17" } } },
        findCommand,
        configNames,
      ),
    ).toEqual([]);
  });

  it("reject depends_on on a missing service or on health that is never reported", () => {
    const doc: ComposeDoc = {
      services: {
        a: { ...healthy, depends_on: { ghost: { condition: "service_healthy" } } },
        b: { restart: "always" },
        c: { ...healthy, depends_on: { b: { condition: "service_healthy" } } },
        d: { ...healthy, depends_on: ["a"] },
      },
    };
    expect(checkDependsOn(doc)).toEqual([
      'a: depends_on names "ghost", which is not a service',
      'c: waits for "b" to be healthy, but "b" has no healthcheck',
    ]);
    expect(checkHealthAndRestart(doc)).toEqual(["b: no healthcheck"]);
  });

  it("find variables in all their forms and ignore $$", () => {
    expect(variableRefs("${A} $B ${C:-x} ${D-y} ${E:?m} ${F?m} ${G:+z} $$H $${I} ${J:-${K}}")).toEqual([
      { name: "A", hasDefault: false },
      { name: "B", hasDefault: false },
      { name: "C", hasDefault: true, defaultValue: "x" },
      { name: "D", hasDefault: true, defaultValue: "y" },
      { name: "E", hasDefault: false },
      { name: "F", hasDefault: false },
      { name: "G", hasDefault: true },
      { name: "J", hasDefault: true, defaultValue: "${K}" },
      { name: "K", hasDefault: false },
    ]);
    const known = new Map([["A", "1"]]);
    expect(checkVariablesDefined(["${A}", "${B:?set it}", "${C:-ok}"], known)).toEqual([
      "${B} is used without a default but not defined in .env.example",
    ]);
    expect(interpolate("${BIND:-127.0.0.1}:${PORT:-5432}:5432 $$x", new Map([["PORT", "6543"]]))).toBe(
      "127.0.0.1:6543:5432 $x",
    );
  });

  it("reject a host port published twice, an undeclared or unused volume and a literal password", () => {
    const doc: ComposeDoc = {
      services: {
        a: { ...healthy, ports: ["127.0.0.1:${P:-5432}:5432"], volumes: ["data:/d", "./x:/x"] },
        b: {
          ...healthy,
          ports: [{ target: 5432, published: "5432" }],
          volumes: [{ type: "volume", source: "ghost", target: "/g" }],
          environment: { POSTGRES_PASSWORD: "hunter2", DB_URL: "postgres://u:pw@h/db" },
        },
        c: { ...healthy, environment: ["API_TOKEN=${API_TOKEN}", "DB_PASSWORD_FILE=/run/secrets/db"] },
      },
      volumes: { data: null, unused: null },
    };
    expect(checkHostPorts(doc, new Map())).toEqual(["host port 5432/tcp is published by both a and b"]);
    expect(checkVolumes(doc)).toEqual([
      'b: volume "ghost" is not declared under volumes:',
      'volume "unused" is declared but no service uses it',
    ]);
    expect(checkNoLiteralSecrets(doc)).toEqual([
      "b: POSTGRES_PASSWORD has a literal value; use ${POSTGRES_PASSWORD} from .env",
      "b: a URL with a literal password: postgres://u:pw@h/db",
    ]);
  });

  it("reject a config that connects to a host that is not a service", () => {
    const doc: ComposeDoc = { services: { kafka: healthy } };
    const bad: Yaml = {
      kafka: { brokers: ["kafka:9092", "127.0.0.1:9092"] },
      sinks: { w: { connection: { host: "${WH}" } } },
    };
    expect(checkConfigHosts(bad, doc, new Map([["WH", "redshift.example"]]))).toEqual([
      'kafka.brokers[1]: "127.0.0.1" is not a compose service',
      'sinks.w.connection.host: "redshift.example" is not a compose service',
    ]);
  });

  it("reject a single-stage, root or wrongly entered Dockerfile", () => {
    expect(checkDockerfile('FROM node:22-slim\nENTRYPOINT ["node", "bin/tributary.js"]\n')).toEqual([
      "expected a multi-stage build (at least 2 FROM), found 1",
      "the final stage sets no USER, so it runs as root",
    ]);
    expect(
      checkDockerfile(
        'FROM node:22 AS build\nUSER node\nFROM node:22-slim\nUSER root\nENTRYPOINT ["node", "dist/other.js"]\n',
      ),
    ).toEqual([
      "the final stage runs as root",
      'ENTRYPOINT ["node", "dist/other.js"] does not run bin/tributary.js',
    ]);
  });
});
