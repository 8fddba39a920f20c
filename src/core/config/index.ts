/** The config API: load and validate a file, and the types of what it yields. */
export {
  CONFIG_ENV_VARIABLE,
  DEFAULT_CONFIG_FILE,
  loadConfig,
  parseConfig,
  resolveConfigPath,
} from "./load.js";
export type {
  ImapSourceConfig,
  MysqlSourceConfig,
  PostgresSourceConfig,
  SinkConfig,
  SourceConfig,
  TributaryConfig,
  VonigoSourceConfig,
} from "./schema.js";
export { parseByteSize, parseDuration } from "./units.js";
