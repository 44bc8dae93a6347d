/**
 * Runs queued work once the current turn of the event loop has handled all its I/O (setImmediate),
 * in the order it was queued.
 *
 * The local gateway queues its replies here. A reply written to a client waiting on its socket wakes the
 * client, and when the client waits on another CPU the writer pays for that wake-up; on this kind of
 * virtual machine it cost more than a GET's own work. Written as each request finished, every reply paid
 * it; written back to back at the end of the turn, the turn's replies pay it about once. A reply waits at
 * most for the other requests of its own turn.
 */
export const endOfTurnQueue = <T>(run: (item: T) => void, onError: (item: T, error: unknown) => void): ((item: T) => void) => {
  let pending: T[] = [];
  const runPending = () => {
    const items = pending;
    pending = [];
    for (const item of items) {
      // One failing item must not strand the ones queued after it.
      try {
        run(item);
      } catch (error) {
        onError(item, error);
      }
    }
  };
  return (item) => {
    if (pending.push(item) === 1) setImmediate(runPending);
  };
};
