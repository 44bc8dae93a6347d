import { describe, expect, it } from 'vitest';
import { sharedPerTurn } from '../../../functions/adapters/object-store/shared-per-turn';

/** A read that records every key it reads, and gives the current value of `state` for it. */
const recordingRead = (state: Map<string, number>) => {
  const reads: string[] = [];
  const read = sharedPerTurn((key: string) => {
    reads.push(key);
    const value = state.get(key);
    if (value === undefined) throw new Error(`no ${key}`);
    return { value };
  });
  return { read, reads };
};

describe('sharedPerTurn', () => {
  it('reads a key once for all the calls of one turn, and gives each the same result', async () => {
    const { read, reads } = recordingRead(new Map([['a', 1]]));
    const [first, second, third] = await Promise.all([read('a'), read('a'), read('a')]);
    expect(reads).toEqual(['a']);
    expect(first).toEqual({ value: 1 });
    expect(second).toBe(first);
    expect(third).toBe(first);
  });

  it('reads at the end of the turn: a change made right after a call is what that call gets', async () => {
    const state = new Map([['a', 1]]);
    const { read } = recordingRead(state);
    const early = read('a');
    state.set('a', 2);
    expect(await early).toEqual({ value: 2 });
  });

  it('makes a call that comes after the read began wait for a read of its own', async () => {
    const state = new Map([['a', 1]]);
    const { read, reads } = recordingRead(state);
    const early = read('a');
    // Queued after the read the early call waits for, so it runs once that read is done.
    const late = new Promise((resolve) =>
      setImmediate(() => {
        state.set('a', 2);
        resolve(read('a'));
      }),
    );
    expect(await early).toEqual({ value: 1 });
    expect(await late).toEqual({ value: 2 });
    expect(reads).toEqual(['a', 'a']);
  });

  it('reads each key on its own', async () => {
    const { read, reads } = recordingRead(new Map([['a', 1], ['b', 2]]));
    expect(await Promise.all([read('a'), read('b'), read('a')])).toEqual([{ value: 1 }, { value: 2 }, { value: 1 }]);
    expect(reads.sort()).toEqual(['a', 'b']);
  });

  it('fails every call waiting for a read that fails, and reads again in the next turn', async () => {
    const state = new Map<string, number>();
    const { read, reads } = recordingRead(state);
    const outcomes = await Promise.allSettled([read('a'), read('a')]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    expect((outcomes[0] as PromiseRejectedResult).reason).toEqual(new Error('no a'));
    state.set('a', 3);
    expect(await read('a')).toEqual({ value: 3 });
    expect(reads).toEqual(['a', 'a']);
  });
});
