import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { sourceBlockSchema } from "../../src/avro/source-block.js";

describe("schemas/source.avsc", () => {
  it("is the source block every envelope carries", () => {
    expect(JSON.parse(readFileSync("schemas/source.avsc", "utf8"))).toEqual(sourceBlockSchema);
  });
});
