/** Small helpers that turn SQL rows (as the Sql port normalizes them) into API shapes. */

/** Normalizes a JSON column that a driver may hand back as text. */
export const jsonValue = <T = unknown>(value: unknown): T =>
  (typeof value === 'string' ? JSON.parse(value) : value) as T;

export const nullableNumber = (value: unknown): number | null =>
  value === null || value === undefined ? null : Number(value);
