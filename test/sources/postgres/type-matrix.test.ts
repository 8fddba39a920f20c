import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChangeEvent } from "../../../src/core/change-event.js";
import { eventually, uniqueName } from "../../helpers/stack.js";
import { cleanUp, Driver, newClient, sourceConfig } from "./harness.js";

// One row of every supported type, read once by the snapshot and once from the stream: both must
// decode to the same, exactly expected, JavaScript values.
describe("Postgres source type matrix", () => {
  const client = newClient();
  const table = uniqueName("types");
  const mood = uniqueName("mood");
  const positive = uniqueName("positive");
  const config = sourceConfig({ tables: { include: [`public.${table}`], exclude: [] } });
  const driver = new Driver(config);

  const columns: Record<string, [string, string, unknown]> = {
    c_smallint: ["smallint", "-32768", -32768],
    c_int: ["int", "2147483647", 2147483647],
    c_bigint: ["bigint", "9223372036854775807", 9223372036854775807n],
    c_numeric: ["numeric(10,2)", "-12.3", "-12.30"],
    c_numeric_nan: ["numeric(10,2)", "'NaN'", null],
    c_numeric_free: [
      "numeric",
      "123456789012345678901234567890.123456789",
      "123456789012345678901234567890.123456789",
    ],
    c_numeric_free_nan: ["numeric", "'NaN'", "NaN"],
    c_numeric_inf: ["numeric", "'-Infinity'", "-Infinity"],
    c_real: ["real", "1.5", 1.5],
    c_real_nan: ["real", "'NaN'", Number.NaN],
    c_double: ["double precision", "1.1", 1.1],
    c_double_inf: ["double precision", "'-Infinity'", Number.NEGATIVE_INFINITY],
    c_bool: ["boolean", "true", true],
    c_text: ["text", `'héllo "world"'`, 'héllo "world"'],
    c_varchar: ["varchar(5)", "'abc'", "abc"],
    c_char: ["char(4)", "'ab'", "ab  "],
    c_bytea: ["bytea", "'\\xdeadbeef'", Buffer.from("deadbeef", "hex")],
    c_uuid: ["uuid", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"],
    c_date: ["date", "'2024-02-29'", Date.UTC(2024, 1, 29) / 86_400_000],
    c_date_bc: ["date", "'0044-03-15 BC'", -735_160],
    c_date_inf: ["date", "'infinity'", 2_147_483_647],
    c_time: ["time", "'13:45:06.123456'", (13 * 3600 + 45 * 60 + 6) * 1_000_000 + 123_456],
    c_timetz: ["timetz", "'13:45:00+02'", "13:45:00+02"],
    c_ts: ["timestamp", "'2024-01-02 03:04:05.123456'", Date.UTC(2024, 0, 2, 3, 4, 5) * 1000 + 123_456],
    c_tstz: [
      "timestamptz",
      "'2024-01-02 03:04:05.123456+05:30'",
      Date.UTC(2024, 0, 1, 21, 34, 5) * 1000 + 123_456,
    ],
    c_tstz_inf: ["timestamptz", "'-infinity'", -Number.MAX_SAFE_INTEGER],
    c_interval: ["interval", "'1 year 2 mons 3 days 04:05:06.5'", "P1Y2M3DT4H5M6.5S"],
    c_json: ["json", `'{"b": 1, "a": [1, 2]}'`, '{"b": 1, "a": [1, 2]}'],
    c_jsonb: ["jsonb", `'{"b": 1, "a": [1, 2]}'`, '{"a": [1, 2], "b": 1}'],
    c_int_array: [
      "int[]",
      "'{{1,NULL},{3,4}}'",
      [
        [1, null],
        [3, 4],
      ],
    ],
    c_text_array: [
      "text[]",
      `array['a b', null, 'NULL', 'q"x', 'c,d', '']`,
      ["a b", null, "NULL", 'q"x', "c,d", ""],
    ],
    c_numeric_array: ["numeric(5,2)[]", "'{1.5,NULL}'", ["1.50", null]],
    c_enum: [mood, "'happy'", "happy"],
    c_domain: [positive, "5", 5],
    c_inet: ["inet", "'192.168.0.1/24'", "192.168.0.1/24"],
    c_cidr: ["cidr", "'10.0.0.0/8'", "10.0.0.0/8"],
    c_macaddr: ["macaddr", "'08:00:2b:01:02:03'", "08:00:2b:01:02:03"],
    c_money: ["money", "12345.5", "$12,345.50"],
    c_bit: ["bit(4)", "B'0101'", "0101"],
    c_varbit: ["varbit", "B'101'", "101"],
    c_xml: ["xml", "'<a>1</a>'", "<a>1</a>"],
    c_null: ["text", "null", null],
  };
  const names = Object.keys(columns);
  const insert = (id: number) =>
    `insert into ${table} (id, ${names.join(", ")}) values (${id}, ${names.map((n) => columns[n]?.[1]).join(", ")})`;

  beforeAll(async () => {
    await client.connect();
    await client.query(`create type ${mood} as enum ('sad', 'happy')`);
    await client.query(`create domain ${positive} as int check (value > 0)`);
    const definitions = names.map((name) => `${name} ${columns[name]?.[0]}`).join(", ");
    await client.query(`create table ${table} (id int primary key, ${definitions})`);
    await client.query(insert(1));
  });

  afterAll(async () => {
    await driver.stop();
    await cleanUp(client, config);
    await client.query(`drop table if exists ${table}`);
    await client.query(`drop domain if exists ${positive}`);
    await client.query(`drop type if exists ${mood}`);
    await client.end();
  });

  const expected = Object.fromEntries(names.map((name) => [name, columns[name]?.[2]]));
  const values = (event: ChangeEvent | undefined) => {
    const { id: _id, ...rest } = event?.after ?? {};
    return rest;
  };

  it("maps the column types", async () => {
    const [spec] = await driver.open();
    const type = (name: string) => spec?.columns.find((column) => column.name === name)?.type;
    expect(spec?.topic).toBe(`test.public.${table}`);
    expect(spec?.keyColumns).toEqual(["id"]);
    expect(type("c_numeric")).toEqual({ kind: "decimal", precision: 10, scale: 2 });
    expect(type("c_numeric_free")).toEqual({ kind: "text", semantic: "numeric" });
    expect(type("c_varchar")).toEqual({ kind: "string", maxLength: 5 });
    expect(type("c_enum")).toEqual({ kind: "text", semantic: "enum" });
    expect(type("c_domain")).toEqual({ kind: "int32" });
    expect(type("c_numeric_array")).toEqual({
      kind: "array",
      items: { kind: "decimal", precision: 5, scale: 2 },
    });
    expect(type("c_tstz")).toEqual({ kind: "timestamptz" });
    expect(type("c_money")).toEqual({ kind: "text", semantic: "money" });
    expect(spec?.columns.find((column) => column.name === "c_numeric")?.sourceType).toBe("numeric(10,2)");
  });

  it("decodes snapshot and stream values alike, to the expected JS values", async () => {
    driver.start();
    const snapshotRow = await eventually(async () => driver.events().find((event) => event.op === "r"));
    expect(snapshotRow.source.snapshot).toBe(true);
    expect(values(snapshotRow)).toEqual(expected);
    await client.query(insert(2));
    const streamed = await eventually(async () => driver.events().find((event) => event.op === "c"));
    expect(streamed.after?.id).toBe(2);
    expect(values(streamed)).toEqual(values(snapshotRow));
    expect(values(streamed)).toEqual(expected);
    expect(streamed.source.version > snapshotRow.source.version).toBe(true);
  });
});
