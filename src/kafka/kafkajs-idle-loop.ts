/**
 * Stops kafkajs 2.2.4's idle loop (kafkajs issue #1556; the fixes of PRs #1667 and #1768 are not
 * released). Whenever nothing is pending, each connection's request queue re-arms its check with
 * a negative delay, so every open connection runs a timer callback about every millisecond, busy
 * or idle: an idle admin client alone costs about 5 % of a core here, and a sink has a consumer,
 * an admin and a producer (bench/RESULTS.md).
 *
 * The replacement is the release's method plus the case it misses: with nothing pending and no
 * throttle to wait out there is nothing to schedule, because push() schedules a check for what it
 * queues and every answered request checks the queue again. Importing this module applies it
 * once, to every kafkajs client of the process; another kafkajs version keeps its own code.
 */
import { isPatchedKafkajs, kafkajsRequire } from "./kafkajs-release.js";

/** kafkajs's CHECK_PENDING_REQUESTS_INTERVAL: how soon queued requests are looked at again. */
const CHECK_PENDING_REQUESTS_MS = 10;

/** The RequestQueue fields the method uses. */
export interface RequestQueueState {
  throttledUntil: number;
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  pending: unknown[];
  checkPendingRequests(): void;
}

/** RequestQueue.scheduleCheckPendingRequests without the loop. */
export function scheduleCheckPendingRequests(this: RequestQueueState): void {
  if (this.throttleCheckTimeoutId) return;
  let delayMs = this.throttledUntil - Date.now();
  if (this.pending.length > 0) delayMs = delayMs > 0 ? delayMs : CHECK_PENDING_REQUESTS_MS;
  else if (delayMs <= 0) return;
  this.throttleCheckTimeoutId = setTimeout(() => {
    this.throttleCheckTimeoutId = null;
    this.checkPendingRequests();
  }, delayMs);
}

function patchRequestQueue(): boolean {
  if (!isPatchedKafkajs()) return false;
  const RequestQueue = kafkajsRequire("kafkajs/src/network/requestQueue/index.js") as {
    prototype: { scheduleCheckPendingRequests: typeof scheduleCheckPendingRequests };
  };
  RequestQueue.prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
  return true;
}

/** Whether this process's kafkajs runs the replacement. */
export const kafkajsIdleLoopStopped = patchRequestQueue();
