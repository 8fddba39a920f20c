/**
 * The small HTTP server every long-running service exposes: /healthz (the process is alive),
 * /readyz (its dependencies answer) and /metrics (Prometheus text format).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface Readiness {
  readonly ready: boolean;
  readonly checks: Record<string, unknown>;
}

export interface HttpServerOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly readiness: () => Promise<Readiness>;
  readonly registry: MetricsSource;
}

/** What /metrics serves: a prom-client Registry, or several merged (see mergeMetrics). */
export type MetricsSource = Pick<Registry, "metrics" | "contentType">;

export interface RunningHttpServer {
  readonly host: string;
  readonly port: number;
  /** e.g. http://127.0.0.1:9464 */
  readonly url: string;
  close(): Promise<void>;
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  response.end(JSON.stringify(body));
}

async function readinessResponse(readiness: () => Promise<Readiness>): Promise<[number, unknown]> {
  try {
    const { ready, checks } = await readiness();
    return [ready ? 200 : 503, { status: ready ? "ready" : "not ready", checks }];
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return [503, { status: "not ready", checks: {}, error: reason }];
  }
}

async function handle(options: HttpServerOptions, request: IncomingMessage, response: ServerResponse) {
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  const known = path === "/healthz" || path === "/readyz" || path === "/metrics";
  if (!known) return sendJson(response, 404, { error: `not found: ${path}` });
  if (request.method !== "GET" && request.method !== "HEAD") {
    response.setHeader("allow", "GET, HEAD");
    return sendJson(response, 405, { error: `method not allowed: ${request.method}` });
  }
  if (path === "/healthz") return sendJson(response, 200, { status: "ok" });
  if (path === "/readyz") {
    const [status, body] = await readinessResponse(options.readiness);
    return sendJson(response, status, body);
  }
  const text = await options.registry.metrics();
  response.writeHead(200, { "content-type": options.registry.contentType });
  response.end(text);
}

export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const host = options.host ?? "127.0.0.1";
  const server = createServer((request, response) => {
    handle(options, request, response).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, { error: String(error) });
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return {
    host,
    port,
    url: `http://${urlHost}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive connections from scrapers would otherwise hold close() open.
        server.closeIdleConnections();
      }),
  };
}
