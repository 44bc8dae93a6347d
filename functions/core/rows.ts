/** Small helpers that turn SQL rows (as the Sql port normalizes them) into API shapes. */

/** Normalizes a JSON column that a driver may hand back as text. */
export const jsonValue = <T = unknown>(value: unknown): T => (typeof value === 'string' ? JSON.parse(value) : value) as T;

export const nullableNumber = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

/**
 * A value as a jsonb column hands it back, without reading it back: JSON has no undefined or
 * non-finite numbers (the JSON round trip), and jsonb keeps an object's keys shortest first, then by
 * their UTF-8 bytes (PostgreSQL's lengthCompareJsonbString). Numbers and strings come back as they went
 * in. Object.fromEntries defines keys as JSON.parse does, so `__proto__` stays an ordinary key. For
 * responses built from a request instead of a RETURNING that would send a costly column back.
 */
export const asJsonb = <T = unknown>(value: unknown): T => jsonbOrder(JSON.parse(JSON.stringify(value) ?? 'null')) as T;

const jsonbOrder = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(jsonbOrder);
  if (value === null || typeof value !== 'object') return value;
  const object = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(object)
      .map((key) => ({ key, bytes: Buffer.from(key) }))
      .sort((a, b) => a.bytes.length - b.bytes.length || Buffer.compare(a.bytes, b.bytes))
      .map(({ key }) => [key, jsonbOrder(object[key])]),
  );
};

/**
 * Text as a text column holds it: the drivers encode strings as UTF-8, where a lone surrogate becomes
 * U+FFFD (String.prototype.toWellFormed, which the ES2023 lib does not declare).
 */
export const asStoredText = (value: string): string =>
  value.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
