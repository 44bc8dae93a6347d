import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { MAX_EXTRA_TURNS, endOfTurnQueue } from '../../functions/local/end-of-turn-queue';

const turns = async (count: number) => {
  for (let turn = 0; turn < count; turn += 1) await nextTurn();
};

describe('endOfTurnQueue', () => {
  it('runs what one turn queued together, in queue order, once a following turn adds nothing', async () => {
    const ran: string[] = [];
    const queue = endOfTurnQueue<string>((item) => ran.push(item), () => undefined);
    queue('a');
    queue('b');
    queue('c');
    expect(ran).toEqual([]);
    await nextTurn();
    // The turn after may still read requests whose replies should join these.
    expect(ran).toEqual([]);
    await nextTurn();
    expect(ran).toEqual(['a', 'b', 'c']);
  });

  it('lets work queued on the next turn join the waiting batch', async () => {
    const batches: string[][] = [];
    let batch: string[] = [];
    const queue = endOfTurnQueue<string>((item) => batch.push(item), () => undefined);
    const closeBatch = () => {
      if (batch.length > 0) batches.push(batch);
      batch = [];
    };
    queue('first turn');
    await nextTurn();
    closeBatch();
    queue('second turn');
    await turns(3);
    closeBatch();
    expect(batches).toEqual([['first turn', 'second turn']]);
  });

  it(`holds nothing longer than ${MAX_EXTRA_TURNS} extra turns while every turn adds more`, async () => {
    const ran: number[] = [];
    const queue = endOfTurnQueue<number>((item) => ran.push(item), () => undefined);
    let turn = 0;
    while (ran.length === 0 && turn < 100) {
      queue(turn);
      turn += 1;
      await nextTurn();
    }
    expect(ran[0]).toBe(0);
    expect(turn).toBe(MAX_EXTRA_TURNS + 1);
  });

  it('runs an item queued while the queue runs on a later turn, not never', async () => {
    const ran: string[] = [];
    const queue = endOfTurnQueue<string>(
      (item) => {
        ran.push(item);
        if (item === 'first') queue('queued by first');
      },
      () => undefined,
    );
    queue('first');
    await turns(2);
    expect(ran).toEqual(['first']);
    await turns(2);
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
    await turns(2);
    expect(ran).toEqual([1, 3]);
    expect(failed).toHaveLength(1);
    expect(failed[0]![0]).toBe(2);
    expect((failed[0]![1] as Error).message).toBe('cannot write 2');
  });
});
