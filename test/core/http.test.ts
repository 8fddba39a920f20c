import { Counter } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { type Readiness, type RunningHttpServer, startHttpServer } from "../../src/core/http.js";
import { createMetricsRegistry } from "../../src/core/metrics.js";

let server: RunningHttpServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(readiness: () => Promise<Readiness>) {
  const registry = createMetricsRegistry({ defaultLabels: { service: "test" } });
  server = await startHttpServer({ port: 0, readiness, registry });
  return { server, registry };
}

describe("startHttpServer", () => {
  it("answers /healthz with ok", async () => {
    const { server } = await start(async () => ({ ready: true, checks: {} }));
    expect(server.port).toBeGreaterThan(0);
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/application\/json/);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  it("answers /readyz with 200 when ready and 503 with the checks when not", async () => {
    let ready = false;
    const { server } = await start(async () => ({ ready, checks: { kafka: ready ? "ok" : "connecting" } }));
    const notReady = await fetch(`${server.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ status: "not ready", checks: { kafka: "connecting" } });
    ready = true;
    const nowReady = await fetch(`${server.url}/readyz`);
    expect(nowReady.status).toBe(200);
    expect(await nowReady.json()).toEqual({ status: "ready", checks: { kafka: "ok" } });
  });

  it("answers /readyz with 503 when the readiness check throws", async () => {
    const { server } = await start(async () => {
      throw new Error("registry unreachable");
    });
    const response = await fetch(`${server.url}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ status: "not ready", error: "registry unreachable" });
  });

  it("serves the registry's metrics in Prometheus text format", async () => {
    const { server, registry } = await start(async () => ({ ready: true, checks: {} }));
    const counter = new Counter({ name: "tributary_events_total", help: "events", registers: [registry] });
    counter.inc(7);
    const response = await fetch(`${server.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe(registry.contentType);
    const text = await response.text();
    expect(text).toContain('tributary_events_total{service="test"} 7');
    expect(text).toMatch(/^tributary_process_cpu_user_seconds_total\{service="test"\} /m);
    expect(text).not.toMatch(/^process_cpu/m);
  });

  it("answers unknown paths with 404 and other methods with 405", async () => {
    const { server } = await start(async () => ({ ready: true, checks: {} }));
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
    expect((await fetch(`${server.url}/healthz`, { method: "POST" })).status).toBe(405);
  });

  it("stops listening on close", async () => {
    const { server: running } = await start(async () => ({ ready: true, checks: {} }));
    await (await fetch(`${running.url}/healthz`)).text();
    await running.close();
    server = undefined;
    await expect(fetch(`${running.url}/healthz`)).rejects.toThrow();
  });
});
