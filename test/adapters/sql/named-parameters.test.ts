import { describe, expect, it } from 'vitest';
import { toPositional } from '../../../functions/adapters/sql/named-parameters';

describe('named SQL parameters', () => {
  it('numbers each distinct name once, in order of first use', () => {
    expect(toPositional('SELECT :a, :b, :a', { a: 1, b: 'x' })).toEqual({ text: 'SELECT $1, $2, $1', values: [1, 'x'] });
  });

  it('leaves casts, strings, quoted identifiers and comments alone', () => {
    const sql = `SELECT ':no', "col:x", now()::text, CAST(:v AS jsonb) -- :comment\n/* :block */`;
    expect(toPositional(sql, { v: '{}' })).toEqual({
      text: `SELECT ':no', "col:x", now()::text, CAST($1 AS jsonb) -- :comment\n/* :block */`,
      values: ['{}'],
    });
  });

  it('fails loudly on a missing parameter instead of sending NULL', () => {
    expect(() => toPositional('SELECT :missing', {})).toThrow(/:missing/);
  });
});
