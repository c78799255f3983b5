/**
 * Runs `onSignal` on the first Ctrl-C (or SIGTERM, SIGHUP) instead of dying at once, so that the lab can
 * stop what it started; a second signal exits at once. Returns a function that removes the handlers.
 */
export function onInterrupt(onSignal: (signal: NodeJS.Signals) => void): () => void {
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  let received = false;
  const handler = (signal: NodeJS.Signals) => {
    if (received) process.exit(130);
    received = true;
    process.stderr.write(`\nlab: ${signal}: stopping what was started (again to quit at once)\n`);
    onSignal(signal);
  };
  for (const signal of signals) process.on(signal, handler);
  return () => {
    for (const signal of signals) process.off(signal, handler);
  };
}
