import { describe, expect, it } from 'vitest';
import { BoundedMap } from '../../../functions/adapters/object-store/bounded-map';

describe('BoundedMap', () => {
  it('forgets its oldest entry once full, and a replaced key costs no entry', () => {
    const map = new BoundedMap<string, number>(2);
    map.set('a', 1).set('b', 2).set('b', 3);
    expect([...map]).toEqual([['a', 1], ['b', 3]]);
    map.set('c', 4);
    expect([...map]).toEqual([['b', 3], ['c', 4]]);
  });
});
