import { describe, expect, it } from "vitest";
import { ConfigError, classify, hintFor, RecordError, TributaryError } from "../../src/core/errors.js";

/** The shape of pg's DatabaseError: a SQLSTATE in `code`, plus `severity`. */
function pgError(code: string): Error {
  return Object.assign(new Error(`pg error ${code}`), { code, severity: "ERROR" });
}

function errnoError(code: string): Error {
  return Object.assign(new Error(`connect ${code}`), { code, errno: -1, syscall: "connect" });
}

function kafkaJsError(name: string, retriable: boolean): Error {
  const error = new Error("kafka failed");
  error.name = name;
  return Object.assign(error, { retriable });
}

describe("classify", () => {
  it.each([
    ["08006", "retry"],
    ["08001", "retry"],
    ["40001", "retry"],
    ["40P01", "retry"],
    ["53300", "retry"],
    ["57P01", "retry"],
    ["57P03", "retry"],
    ["28P01", "stop"],
    ["42501", "stop"],
    ["42P01", "stop"],
    ["3D000", "stop"],
    ["55000", "stop"],
    ["42601", "stop"],
    ["22001", "dead-letter"],
    ["22P02", "dead-letter"],
    ["23505", "dead-letter"],
  ])("maps Postgres SQLSTATE %s to %s", (code, action) => {
    expect(classify(pgError(code))).toBe(action);
  });

  it("maps MySQL errors through their sqlState", () => {
    const denied = Object.assign(new Error("Access denied"), {
      code: "ER_ACCESS_DENIED_ERROR",
      sqlState: "28000",
    });
    const duplicate = Object.assign(new Error("Duplicate entry"), {
      code: "ER_DUP_ENTRY",
      sqlState: "23000",
    });
    const lost = Object.assign(new Error("Connection lost"), {
      code: "PROTOCOL_CONNECTION_LOST",
      fatal: true,
    });
    expect(classify(denied)).toBe("stop");
    expect(classify(duplicate)).toBe("dead-letter");
    expect(classify(lost)).toBe("retry");
  });

  it.each(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENOTFOUND"])(
    "retries the network error %s",
    (code) => {
      expect(classify(errnoError(code))).toBe("retry");
    },
  );

  it("follows kafkajs's retriable flag", () => {
    expect(classify(kafkaJsError("KafkaJSConnectionError", true))).toBe("retry");
    expect(classify(kafkaJsError("KafkaJSProtocolError", false))).toBe("stop");
  });

  it("stops on programming errors", () => {
    expect(classify(new TypeError("x is not a function"))).toBe("stop");
    expect(classify(new RangeError("bad length"))).toBe("stop");
    expect(classify(new ReferenceError("y is not defined"))).toBe("stop");
    expect(classify(new SyntaxError("Unexpected token"))).toBe("stop");
  });

  it("classifies Tributary's own errors and looks through wrappers", () => {
    expect(classify(new TributaryError("registry down", { code: "REGISTRY", retriable: true }))).toBe(
      "retry",
    );
    expect(classify(new ConfigError(["kafka.brokers: expected a list"]))).toBe("stop");
    expect(classify(new RecordError("value does not fit"))).toBe("dead-letter");
    expect(classify(new Error("wrapped", { cause: pgError("42P01") }))).toBe("stop");
    expect(classify(new DOMException("aborted", "AbortError"))).toBe("stop");
    expect(classify(new Error("something unknown"))).toBe("retry");
  });
});

describe("hintFor", () => {
  it("gives an actionable hint for setup problems", () => {
    expect(hintFor(pgError("55000"))).toMatch(/wal_level/);
    expect(hintFor(pgError("28P01"))).toMatch(/password/);
    expect(hintFor(pgError("3D000"))).toMatch(/database/);
    expect(hintFor(new Error("outer", { cause: pgError("42501") }))).toMatch(/privilege/);
    expect(hintFor(new TributaryError("x", { code: "X", hint: "do this" }))).toBe("do this");
    expect(hintFor(errnoError("ECONNREFUSED"))).toBeUndefined();
  });

  it("keeps code, retriable, hint and cause on TributaryError", () => {
    const cause = new Error("root");
    const error = new TributaryError("failed", {
      code: "SLOT_IN_USE",
      hint: "stop the other consumer",
      cause,
    });
    expect(error).toMatchObject({
      code: "SLOT_IN_USE",
      retriable: false,
      hint: "stop the other consumer",
      cause,
    });
    expect(new ConfigError(["a: b", "c: d"]).problems).toEqual(["a: b", "c: d"]);
  });
});
