#!/usr/bin/env -S node --max-old-space-size=1024 --max-semi-space-size=8
// The published entry point runs the compiled CLI (npm ci builds it through the prepare script).
// The heap flags change how V8 grows the heap, not only its limits: a sink draining a backlog
// peaks at 200-220 MB instead of 265-475 MB (the old-generation cap does most; the smaller young
// generation takes 25-30 MB more off at the same throughput; bench/RESULTS.md). Its live data is
// bounded by the fetch sizes, far below the cap. `node bin/tributary.js` skips this line; the
// Dockerfile runs the file itself.
import { main } from "../dist/cli/main.js";

process.exitCode = await main(process.argv.slice(2));
