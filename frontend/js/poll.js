// Repeat a task on an interval while a view is shown; each run starts after the last ends.

/**
 * Run `task` now and then every `intervalMs` (a number, or a function giving it) until `stop()` is called or `task` resolves to
 * `false` (nothing left to watch). Errors are passed to `onError` and polling goes on.
 */
export function poll(task, intervalMs, onError = () => {}) {
  let stopped = false;
  let timer = null;
  async function run() {
    if (stopped) return;
    let keepGoing = true;
    try {
      keepGoing = (await task()) !== false;
    } catch (error) {
      onError(error);
    }
    if (!stopped && keepGoing) {
      timer = window.setTimeout(run, typeof intervalMs === "function" ? intervalMs() : intervalMs);
    }
  }
  run();
  return () => {
    stopped = true;
    if (timer !== null) window.clearTimeout(timer);
  };
}
