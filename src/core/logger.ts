/**
 * JSON-lines logging with pino: one root logger per service, a child per component
 * (`logger.child({ source, table })`), secrets redacted at every depth and in every string.
 */
import { type DestinationStream, type LevelWithSilent, type Logger, pino } from "pino";
import pretty from "pino-pretty";
import { REDACTED, redactUrlPasswords, scrubSecrets } from "./redact.js";

export type { Logger } from "pino";

export interface LoggerOptions {
  /** The service name, on every line: e.g. "capture:infoportal". */
  readonly service: string;
  /** Default: LOG_LEVEL, else "info" ("silent" under vitest). */
  readonly level?: LevelWithSilent;
  /** Where lines go; default stdout (pretty when it is a terminal). */
  readonly destination?: DestinationStream;
}

const secretKeys = ["password", "passwordFile", "secret", "token", "authorization", "apiKey"];

/** pino's fast paths for the usual places; the recursive scrub covers deeper ones. */
const redactPaths = secretKeys
  .filter((key) => key !== "passwordFile")
  .flatMap((key) => [key, `*.${key}`, `*.*.${key}`, `*.*.*.${key}`])
  .concat(["headers.authorization", "*.headers.authorization", "req.headers.cookie"]);

export function defaultLogLevel(env: NodeJS.ProcessEnv = process.env): LevelWithSilent {
  const fromEnv = env.LOG_LEVEL?.trim().toLowerCase();
  if (fromEnv) return fromEnv as LevelWithSilent;
  return env.VITEST !== undefined ? "silent" : "info";
}

function defaultDestination(): DestinationStream {
  if (process.stdout.isTTY) return pretty({ colorize: true, translateTime: "SYS:HH:MM:ss.l" });
  return pino.destination({ fd: 1, sync: false });
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? defaultLogLevel(),
      base: { service: options.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths, censor: REDACTED },
      formatters: {
        level: (label) => ({ level: label }),
        bindings: (bindings) => scrubSecrets(bindings) as Record<string, unknown>,
        log: (object) => scrubSecrets(object) as Record<string, unknown>,
      },
      // The last line of defence: messages, error stacks and anything else that reached the
      // serialized line with a URL password in it.
      hooks: { streamWrite: redactUrlPasswords },
    },
    options.destination ?? defaultDestination(),
  );
}
