/**
 * Value normalization shared by the PostgreSQL drivers, so every SQL adapter returns what the Sql port
 * promises: bigint as a decimal string, timestamps as ISO 8601 UTC.
 */
export const PG_TYPE = { INT8: 20, TIMESTAMP: 1114, TIMESTAMPTZ: 1184 } as const;

const PG_TIMESTAMP = /^(\d{4,}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d+)?(?:([+-])(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?|Z)?$/;

/** PostgreSQL's text form of a timestamp(tz) to ISO 8601 UTC; a timestamp without zone is taken as UTC. */
export const pgTimestampToIso = (text: string): string => {
  const match = PG_TIMESTAMP.exec(text);
  if (!match) return text; // 'infinity' and the like pass through untouched
  const [, date, time, fraction = '', sign, hours, minutes = '00', seconds = '00'] = match;
  const millis = fraction ? fraction.slice(0, 4).padEnd(4, '0') : '.000';
  const base = Date.parse(`${date}T${time}${millis}Z`);
  const offsetSeconds = sign ? (sign === '-' ? -1 : 1) * (Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds)) : 0;
  return new Date(base - offsetSeconds * 1000).toISOString();
};

export interface TransactionMode {
  isolation?: 'read committed' | 'repeatable read' | 'serializable';
  readOnly?: boolean;
}

/** The statement that sets a transaction's isolation and access mode, or null for the server's defaults. */
export const transactionPreamble = (options: TransactionMode): string | null => {
  const parts = [options.isolation ? `ISOLATION LEVEL ${options.isolation.toUpperCase()}` : '', options.readOnly ? 'READ ONLY' : ''].filter(
    Boolean,
  );
  return parts.length > 0 ? `SET TRANSACTION ${parts.join(' ')}` : null;
};
