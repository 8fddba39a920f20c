import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { renderConfigReference } from "../../src/core/config/reference.js";

const docsPath = new URL("../../docs/configuration.md", import.meta.url);

describe("docs/configuration.md", () => {
  it("is generated from the current schema (UPDATE_DOCS=1 rewrites it)", () => {
    const rendered = renderConfigReference();
    if (process.env.UPDATE_DOCS) writeFileSync(docsPath, rendered);
    expect(readFileSync(docsPath, "utf8")).toBe(rendered);
  });

  it("documents every connector with its fields, defaults and descriptions", () => {
    const rendered = renderConfigReference();
    for (const title of [
      "## kafka",
      "## sources: type postgres",
      "## sources: type mysql",
      "## sources: type vonigo",
    ]) {
      expect(rendered).toContain(title);
    }
    expect(rendered).toContain("## sources: type imap");
    expect(rendered).toMatch(
      /\| `sources\.<name>\.pollInterval` \| duration \| {2}\| `1m` \| time between polls \|/,
    );
    expect(rendered).toMatch(/\| `sources\.<name>\.connection\.passwordFile` \| string \|/);
    expect(rendered).toMatch(/\| `sinks\.<name>\.batch\.maxBytes` \| byte size \| {2}\| `16MiB` \|/);
    expect(rendered).toMatch(/\| `sources\.<name>\.serverId` \| integer \| yes \|/);
  });
});
