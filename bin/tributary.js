#!/usr/bin/env -S node --max-old-space-size=1024
// The published entry point runs the compiled CLI (npm ci builds it through the prepare script).
// The heap cap changes how V8 grows the heap, not only its limit: a sink draining a backlog peaks
// at about 190 MB instead of 270-470 MB, for about a tenth of its throughput (bench/RESULTS.md).
// Its working set is bounded by the fetch sizes, far below the cap. `node bin/tributary.js`
// skips this line; the Dockerfile runs the file itself.
import { main } from "../dist/cli/main.js";

process.exitCode = await main(process.argv.slice(2));
