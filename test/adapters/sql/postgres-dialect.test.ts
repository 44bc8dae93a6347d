import { describe, expect, it } from 'vitest';
import { pgTimestampToIso, transactionPreamble } from '../../../functions/adapters/sql/postgres-dialect';

describe('PostgreSQL timestamps to ISO 8601', () => {
  it.each([
    ['2024-01-01 12:00:00+00', '2024-01-01T12:00:00.000Z'],
    ['2024-01-01 12:00:00.123456+00', '2024-01-01T12:00:00.123Z'],
    ['2024-01-01 14:30:00+02:30', '2024-01-01T12:00:00.000Z'],
    ['2024-01-01 07:00:00.5-05', '2024-01-01T12:00:00.500Z'],
    ['2024-01-01 12:00:00', '2024-01-01T12:00:00.000Z'],
  ])('%s → %s', (text, iso) => {
    expect(pgTimestampToIso(text)).toBe(iso);
  });

  it('passes special values through', () => {
    expect(pgTimestampToIso('infinity')).toBe('infinity');
  });
});

describe('transaction preamble', () => {
  it('sets isolation and access mode only when asked', () => {
    expect(transactionPreamble({})).toBeNull();
    expect(transactionPreamble({ isolation: 'repeatable read', readOnly: true })).toBe(
      'SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY',
    );
  });
});
