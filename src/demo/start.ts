/**
 * `npm start`: after the local stack is up (stack/stack.sh), seed the demo Info Portal tables,
 * keep a trickle of live changes going, and run the whole pipeline of tributary.yaml
 * (Info Portal → Kafka → the warehouse stand-in) until Ctrl-C.
 */

import { runAll } from "../cli/up.js";
import { loadConfig, resolveConfigPath } from "../core/config/index.js";
import { createLogger } from "../core/logger.js";
import { seedInfoPortal, trickleInfoPortal } from "./infoportal.js";

const DEMO_SOURCE = "infoportal";

function banner(configFile: string, dashboard: { host: string; port: number }, schema: string): string {
  const base = `http://${dashboard.host}:${dashboard.port}`;
  return `
Tributary is running the pipeline of ${configFile}: Info Portal (Postgres) → Kafka → warehouse.
A trickle of live changes keeps arriving in the demo tables. Stop with Ctrl-C.

  health and metrics   ${base}/readyz   ${base}/metrics
  the warehouse        psql -h 127.0.0.1 -U postgres warehouse -c 'select id, status, total, _tributary_version,
                         _tributary_deleted, _tributary_loaded_at from ${schema}.infoportal_work_orders
                         order by _tributary_loaded_at desc limit 10'
  the topics           stack/bin/kafka-topics --bootstrap-server 127.0.0.1:9092 --list
  a topic's records    stack/bin/kafka-console-consumer --bootstrap-server 127.0.0.1:9092 --from-beginning \\
                         --isolation-level read_committed --topic infoportal.public.work_orders --max-messages 5
  consumer lag         stack/bin/kafka-consumer-groups --bootstrap-server 127.0.0.1:9092 --describe --all-groups

`;
}

async function main(): Promise<number> {
  const configFile = resolveConfigPath(undefined, process.env);
  const config = loadConfig(configFile, { env: process.env });
  const source = config.sources[DEMO_SOURCE];
  if (source?.type !== "postgres") {
    process.stderr.write(`npm start needs a postgres source named ${DEMO_SOURCE} in ${configFile}\n`);
    return 2;
  }
  const { seeded } = await seedInfoPortal(source.connection);
  process.stderr.write(
    seeded ? "seeded the demo Info Portal tables\n" : "the demo Info Portal tables are already there\n",
  );
  const trickle = new AbortController();
  const changes = trickleInfoPortal(source.connection, trickle.signal).catch((error: unknown) => {
    process.stderr.write(
      `the demo trickle stopped: ${error instanceof Error ? error.message : String(error)}\n`,
    );
  });
  const schema = Object.values(config.sinks)[0]?.schema ?? "analytics";
  process.stderr.write(banner(configFile, config.dashboard, schema));
  try {
    return await runAll(config, createLogger({ service: "tributary" }));
  } finally {
    trickle.abort();
    await changes;
  }
}

process.exitCode = await main();
