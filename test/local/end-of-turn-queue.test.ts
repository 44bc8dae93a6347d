import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { endOfTurnQueue } from '../../functions/local/end-of-turn-queue';

describe('endOfTurnQueue', () => {
  it('runs what one turn queued together once the turn is over, in queue order', async () => {
    const ran: string[] = [];
    const queue = endOfTurnQueue<string>((item) => ran.push(item), () => undefined);
    queue('a');
    queue('b');
    queue('c');
    expect(ran).toEqual([]);
    await nextTurn();
    expect(ran).toEqual(['a', 'b', 'c']);
  });

  it('runs an item queued while the queue runs on the following turn, not never', async () => {
    const ran: string[] = [];
    const queue = endOfTurnQueue<string>(
      (item) => {
        ran.push(item);
        if (item === 'first') queue('queued by first');
      },
      () => undefined,
    );
    queue('first');
    await nextTurn();
    expect(ran).toEqual(['first']);
    await nextTurn();
    expect(ran).toEqual(['first', 'queued by first']);
  });

  it('hands a failing item to onError and still runs the items after it', async () => {
    const ran: number[] = [];
    const failed: [number, unknown][] = [];
    const queue = endOfTurnQueue<number>(
      (item) => {
        if (item === 2) throw new Error('cannot write 2');
        ran.push(item);
      },
      (item, error) => failed.push([item, error]),
    );
    [1, 2, 3].forEach(queue);
    await nextTurn();
    expect(ran).toEqual([1, 3]);
    expect(failed).toHaveLength(1);
    expect(failed[0]![0]).toBe(2);
    expect((failed[0]![1] as Error).message).toBe('cannot write 2');
  });
});
