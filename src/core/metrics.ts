/**
 * The Prometheus registry of one service: default process metrics plus whatever the components
 * register, every name starting with `tributary_`.
 */
import { collectDefaultMetrics, Registry } from "prom-client";

export const METRIC_PREFIX = "tributary_";

export interface MetricsOptions {
  /** Labels on every series, e.g. `{ service: "capture:infoportal" }`. */
  readonly defaultLabels?: Record<string, string>;
}

export function createMetricsRegistry(options: MetricsOptions = {}): Registry {
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return registry;
}
