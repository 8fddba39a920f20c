/**
 * The command table of the `tributary` executable: one entry per command, each implemented in
 * its own file under src/cli. The help text, the dispatcher and the docker compose consistency
 * test all read this table, so a command exists in exactly one place.
 */
export interface CommandSpec {
  /** The words that select the command, e.g. ["config", "check"]. */
  readonly words: readonly string[];
  readonly usage: string;
  readonly summary: string;
}

export const commands: readonly CommandSpec[] = [
  {
    words: ["capture"],
    usage: "capture <source>",
    summary: "run one capture service: one source from the config into Kafka",
  },
  { words: ["sink"], usage: "sink <sink>", summary: "run one sink service: Kafka topics into the warehouse" },
  {
    words: ["up"],
    usage: "up",
    summary: "run every configured source and sink, and the dashboard, in one process",
  },
  {
    words: ["replay"],
    usage: "replay --group <id> --to <earliest|time|duration|offset> [--execute]",
    summary: "move a consumer group's offsets (dry run unless --execute)",
  },
  {
    words: ["lag"],
    usage: "lag [--watch]",
    summary: "consumer lag per group, topic and partition, in messages and seconds",
  },
  {
    words: ["dashboard"],
    usage: "dashboard",
    summary: "a web page with lag, throughput, freshness and source lag",
  },
  {
    words: ["config", "check"],
    usage: "config check",
    summary: "validate a config file and say exactly what is wrong where",
  },
];

/** Finds the command whose words start `argv`, longest match first. */
export function findCommand(argv: readonly string[]): CommandSpec | undefined {
  return [...commands]
    .sort((a, b) => b.words.length - a.words.length)
    .find((command) => command.words.every((word, index) => argv[index] === word));
}
