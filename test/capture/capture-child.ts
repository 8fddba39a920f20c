/**
 * A capture in its own process, for the crash test: captures CAPTURE_COUNT scripted inserts of
 * source CAPTURE_SOURCE and prints "committed <version>" after each acknowledged flush.
 */
import { FakeSource } from "../helpers/fake-source.js";
import { capture, inserts, ordersTable } from "./fixtures.js";

const name = process.env.CAPTURE_SOURCE ?? "";
const count = Number(process.env.CAPTURE_COUNT ?? "0");
const table = ordersTable(name);
const source = new FakeSource({
  name,
  tables: [table],
  events: inserts(table, 1, count),
  batchSize: 50,
  replay: 25,
  endWhenDrained: true,
  onCommit: (position) => {
    process.stdout.write(`committed ${position.version}\n`);
  },
});
await capture(source, { maxFlushEvents: 500 });
process.stdout.write("drained\n");
