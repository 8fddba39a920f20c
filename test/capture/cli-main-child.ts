/** `tributary` run from the sources (what bin/tributary.js runs from dist/), for CLI tests in a child process. */
import { main } from "../../src/cli/main.js";

process.exitCode = await main(process.argv.slice(2));
