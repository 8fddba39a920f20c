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

/**
 * One /metrics for several services in one process (`tributary up`): each service keeps its own
 * registry (their metric names repeat), and the families are merged here so every name has one
 * HELP/TYPE header followed by the samples of every service, told apart by their `service` label.
 */
export function mergeMetrics(registries: readonly Registry[]): Pick<Registry, "metrics" | "contentType"> {
  return {
    contentType: Registry.PROMETHEUS_CONTENT_TYPE,
    async metrics() {
      type Family = { help: string; type: string; samples: string[] };
      const families = new Map<string, Family>();
      for (const registry of registries) {
        for (const metric of await registry.getMetricsAsJSON()) {
          const family: Family = families.get(metric.name) ?? {
            help: metric.help,
            type: String(metric.type),
            samples: [] as string[],
          };
          families.set(metric.name, family);
          for (const sample of metric.values as { value: number; labels: object; metricName?: string }[]) {
            family.samples.push(
              `${sample.metricName ?? metric.name}${formatLabels(sample.labels)} ${sample.value}`,
            );
          }
        }
      }
      let text = "";
      for (const [name, family] of families) {
        text += `# HELP ${name} ${family.help.replaceAll("\\", "\\\\").replaceAll("\n", "\\n")}\n`;
        text += `# TYPE ${name} ${family.type}\n${family.samples.join("\n")}\n`;
      }
      return text;
    },
  };
}

function formatLabels(labels: object): string {
  const pairs = Object.entries(labels).map(([name, value]) => {
    const escaped = String(value).replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
    return `${name}="${escaped}"`;
  });
  return pairs.length === 0 ? "" : `{${pairs.join(",")}}`;
}
