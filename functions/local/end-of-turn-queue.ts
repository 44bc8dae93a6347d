/**
 * Runs queued work once the event loop has no more I/O for it: at the end of a turn (setImmediate), or,
 * while each turn brings more, at the end of the turn that brings none, in the order it was queued.
 *
 * The local gateway queues its replies here. A reply written to a client waiting on its socket wakes the
 * client, and when the client waits on another CPU the writer pays for that wake-up; on this kind of
 * virtual machine it cost more than a GET's own work. Written as each request finished, every reply paid
 * it; written back to back once the server has read every request waiting for it, a burst of replies pays
 * it about once (at 10 connections, 0.11-0.12 wake-ups per request instead of 0.16-0.19; README, Benchmarks).
 * The extra turn costs one poll that does not wait, and a reply waits at most MAX_EXTRA_TURNS turns for the
 * requests that arrive behind it.
 */

/** Turns a queue may wait for more work to join it, so requests that keep coming never hold a reply for long. */
export const MAX_EXTRA_TURNS = 4;

export const endOfTurnQueue = <T>(run: (item: T) => void, onError: (item: T, error: unknown) => void): ((item: T) => void) => {
  let pending: T[] = [];
  let extraTurns = 0;
  let queuedBeforeThisTurn = 0;
  const runPending = () => {
    const items = pending;
    pending = [];
    extraTurns = 0;
    queuedBeforeThisTurn = 0;
    for (const item of items) {
      // One failing item must not strand the ones queued after it.
      try {
        run(item);
      } catch (error) {
        onError(item, error);
      }
    }
  };
  const endOfTurn = () => {
    // A turn that added work may be followed by more: the next turn polls without waiting, and whatever
    // it reads joins this batch.
    if (pending.length > queuedBeforeThisTurn && extraTurns < MAX_EXTRA_TURNS) {
      extraTurns += 1;
      queuedBeforeThisTurn = pending.length;
      setImmediate(endOfTurn);
      return;
    }
    runPending();
  };
  return (item) => {
    if (pending.push(item) === 1) setImmediate(endOfTurn);
  };
};
