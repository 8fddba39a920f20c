/**
 * Typed errors and the one classifier that decides what a service does with a failure:
 * retry it (an outage), dead-letter the record (bad data), or stop (needs a human).
 * Error codes from Postgres, MySQL, Node and kafkajs go through tables, not ad-hoc checks.
 */

export type ErrorAction = "retry" | "dead-letter" | "stop";

export interface TributaryErrorOptions {
  /** A stable machine-readable code, e.g. "CONFIG_INVALID". */
  readonly code: string;
  readonly retriable?: boolean;
  /** What the user can do about it, in one sentence. */
  readonly hint?: string;
  readonly cause?: unknown;
}

export class TributaryError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  readonly hint: string | undefined;

  constructor(message: string, options: TributaryErrorOptions) {
    super(message, { cause: options.cause });
    this.name = "TributaryError";
    this.code = options.code;
    this.retriable = options.retriable ?? false;
    this.hint = options.hint;
  }
}

/** A config file that cannot be used; `problems` holds one line per problem, path first. */
export class ConfigError extends TributaryError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[], options: { hint?: string; cause?: unknown } = {}) {
    super(problems.join("\n"), { code: "CONFIG_INVALID", retriable: false, ...options });
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** One record that cannot be applied; it goes to the dead-letter topic, the partition moves on. */
export class RecordError extends TributaryError {
  constructor(message: string, options: { code?: string; hint?: string; cause?: unknown } = {}) {
    super(message, { code: options.code ?? "RECORD_INVALID", retriable: false, ...options });
    this.name = "RecordError";
  }
}

interface SqlStateRule {
  readonly action: ErrorAction;
  readonly hint?: string;
}

/** Exact SQLSTATE codes first, then two-character classes. Shared by Postgres and MySQL (sqlState). */
const sqlStateCodes: Readonly<Record<string, SqlStateRule>> = {
  "40001": { action: "retry" }, // serialization_failure
  "40P01": { action: "retry" }, // deadlock_detected
  "57P01": { action: "retry" }, // admin_shutdown
  "57P02": { action: "retry" }, // crash_shutdown
  "57P03": { action: "retry" }, // cannot_connect_now (starting up)
  "42501": { action: "stop", hint: "grant the configured user the privileges it needs (see docs)" },
  "42P01": {
    action: "stop",
    hint: "the table does not exist: create it or fix the table list in the config",
  },
  "42S02": {
    action: "stop",
    hint: "the table does not exist: create it or fix the table list in the config",
  },
  "3D000": { action: "stop", hint: "the database does not exist: check connection.database in the config" },
  "55000": {
    action: "stop",
    hint: "the server is not in the required state (e.g. wal_level must be logical); fix its configuration",
  },
};

const sqlStateClasses: Readonly<Record<string, SqlStateRule>> = {
  "08": { action: "retry" }, // connection exception
  "53": { action: "retry" }, // insufficient resources
  "58": { action: "retry" }, // system error (I/O)
  "28": { action: "stop", hint: "authentication failed: check the user and password in the config" },
  "22": { action: "dead-letter" }, // data exception
  "23": { action: "dead-letter" }, // integrity constraint violation
};

/** Network failures that go away when the other side comes back. */
const retriableErrnos: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND", // in compose a service's name resolves only once it runs
  "EAI_AGAIN",
  "PROTOCOL_CONNECTION_LOST", // mysql2
  "ER_CON_COUNT_ERROR", // mysql2: too many connections
]);

const programmingErrors: readonly (abstract new (...args: never[]) => Error)[] = [
  TypeError,
  RangeError,
  ReferenceError,
  SyntaxError,
];

const SQLSTATE = /^[0-9A-Z]{5}$/;

function field(err: object, name: string): unknown {
  return (err as Record<string, unknown>)[name];
}

/** The SQLSTATE of a pg DatabaseError (`code`) or a mysql2 error (`sqlState`). */
function sqlStateOf(err: object): string | undefined {
  const sqlState = field(err, "sqlState");
  if (typeof sqlState === "string" && SQLSTATE.test(sqlState)) return sqlState;
  const code = field(err, "code");
  // pg's DatabaseError carries `severity`; a bare 5-character code alone could be anything.
  if (typeof code === "string" && SQLSTATE.test(code) && field(err, "severity") !== undefined) return code;
  return undefined;
}

function sqlStateRule(sqlState: string): SqlStateRule {
  return sqlStateCodes[sqlState] ?? sqlStateClasses[sqlState.slice(0, 2)] ?? { action: "stop" };
}

function isKafkaJsError(err: Error): boolean {
  return err.name.startsWith("KafkaJS") && typeof field(err, "retriable") === "boolean";
}

/** Decides what to do with any thrown value. Unknown errors are retried: outages must not stop services. */
export function classify(err: unknown): ErrorAction {
  if (!(err instanceof Error)) return "retry";
  if (err.name === "AbortError") return "stop";
  if (err instanceof RecordError) return "dead-letter";
  if (err instanceof TributaryError) return err.retriable ? "retry" : "stop";
  if (programmingErrors.some((type) => err instanceof type)) return "stop";
  const sqlState = sqlStateOf(err);
  if (sqlState) return sqlStateRule(sqlState).action;
  const code = field(err, "code");
  if (typeof code === "string" && retriableErrnos.has(code)) return "retry";
  if (isKafkaJsError(err)) return field(err, "retriable") ? "retry" : "stop";
  if (err.cause !== undefined) return classify(err.cause);
  return "retry";
}

/** A sentence the user can act on, when the error is one we know. */
export function hintFor(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  if (err instanceof TributaryError && err.hint) return err.hint;
  const sqlState = sqlStateOf(err);
  if (sqlState) return sqlStateRule(sqlState).hint;
  if (err.cause !== undefined) return hintFor(err.cause);
  return undefined;
}
