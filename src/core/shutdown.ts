/**
 * Graceful shutdown: on SIGTERM/SIGINT the registered handlers run in reverse order of
 * registration (last started, first stopped) within a deadline; a second signal forces the exit.
 * Long-running loops watch `signal` to stop taking new work.
 */

export type ShutdownHandler = () => Promise<void> | void;

/** The part of `process` this needs; tests pass an EventEmitter with an `exit` spy. */
export interface SignalSource {
  on(event: NodeJS.Signals, listener: () => void): unknown;
  off(event: NodeJS.Signals, listener: () => void): unknown;
  exit(code: number): void;
}

export interface ShutdownOptions {
  /** Default: the real process. */
  readonly process?: SignalSource;
  /** Time the handlers get in total; default 30s. */
  readonly timeoutMs?: number;
  readonly signals?: readonly NodeJS.Signals[];
  /** Told about handler failures and timeouts (e.g. a logger's warn). */
  readonly onProblem?: (message: string, error?: unknown) => void;
  /** Told once, when shutdown begins, why (the signal's name, or the reason given to stop). */
  readonly onStopping?: (reason: string) => void;
}

export interface Shutdown {
  /** Aborted as soon as shutdown begins. */
  readonly signal: AbortSignal;
  /** Registers a handler; handlers run in reverse order of registration. */
  onShutdown(name: string, handler: ShutdownHandler): void;
  /** Begins shutdown without a signal (e.g. after a fatal error); resolves with the exit code. */
  stop(reason?: string, exitCode?: number): Promise<number>;
  /** Resolves with the exit code once shutdown has finished: 0 clean, 1 a handler failed or timed out. */
  readonly done: Promise<number>;
  /** Removes the signal listeners. */
  dispose(): void;
}

const signalNumbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

export function createShutdown(options: ShutdownOptions = {}): Shutdown {
  const target: SignalSource = options.process ?? process;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const signals = options.signals ?? ["SIGTERM", "SIGINT"];
  const handlers: { name: string; handler: ShutdownHandler }[] = [];
  const controller = new AbortController();
  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => {
    resolveDone = resolve;
  });
  let stopping: Promise<number> | undefined;

  async function runHandlers(initialCode: number): Promise<number> {
    let exitCode = initialCode;
    for (const { name, handler } of [...handlers].reverse()) {
      try {
        await handler();
      } catch (error) {
        options.onProblem?.(`shutdown handler "${name}" failed`, error);
        exitCode = 1;
      }
    }
    return exitCode;
  }

  async function withDeadline(work: Promise<number>): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<number>((resolve) => {
      timer = setTimeout(() => {
        options.onProblem?.(`shutdown did not finish within ${timeoutMs}ms`);
        resolve(1);
      }, timeoutMs);
      timer.unref();
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  function stop(reason = "stop requested", exitCode = 0): Promise<number> {
    if (stopping) return stopping;
    options.onStopping?.(reason);
    controller.abort(new DOMException(`shutting down: ${reason}`, "AbortError"));
    stopping = withDeadline(runHandlers(exitCode)).then((code) => {
      dispose();
      resolveDone(code);
      return code;
    });
    return stopping;
  }

  const listeners = signals.map((name) => {
    const listener = () => {
      if (stopping) {
        // A second signal: the operator does not want to wait.
        target.exit(128 + (signalNumbers[name] ?? 0));
        return;
      }
      void stop(name);
    };
    target.on(name, listener);
    return { name, listener };
  });

  // Called once shutdown finished: until then the listeners stay, so a second signal can force the exit.
  function dispose(): void {
    for (const { name, listener } of listeners) target.off(name, listener);
  }

  return {
    signal: controller.signal,
    onShutdown: (name, handler) => {
      handlers.push({ name, handler });
    },
    stop,
    done,
    dispose,
  };
}
