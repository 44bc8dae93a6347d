/**
 * The Data API's value mapping for Aurora PostgreSQL, both ways.
 *
 * In: `:name` placeholders become `$n`, and each typed Field is bound with the PostgreSQL type the Data
 * API's JDBC layer gives it: stringValue as varchar, longValue as int8, doubleValue as float8,
 * booleanValue as bool, blobValue as bytea, isNull untyped; a typeHint (DATE, TIME, TIMESTAMP, DECIMAL,
 * JSON, UUID) retypes a stringValue. So, as on AWS, a string bound straight into a jsonb, uuid or
 * timestamptz column fails ("is of type jsonb but expression is of type character varying") unless the
 * statement casts it or the call gives a typeHint.
 *
 * Out: each column's PostgreSQL text form becomes a Field by type: integers in longValue, floats in
 * doubleValue, bool in booleanValue, bytea in blobValue, one-dimensional arrays in arrayValue, and
 * everything else (numeric, json, jsonb, date, time, timestamps, uuid, text...) in stringValue, in
 * PostgreSQL's own text form; timestamps are read in UTC and given without the offset, as the Data API
 * gives them (see test/adapters/sql/data-api/fake-data-api.ts, which documents the shapes).
 */
import type { ColumnMetadata, Field, SqlParameter } from '@aws-sdk/client-rds-data';
import pg from 'pg';
import { DataApiError } from './errors';

export const OID = {
  BOOL: 16,
  BYTEA: 17,
  CHAR: 18,
  NAME: 19,
  INT8: 20,
  INT2: 21,
  INT4: 23,
  TEXT: 25,
  OID: 26,
  JSON: 114,
  FLOAT4: 700,
  FLOAT8: 701,
  BPCHAR: 1042,
  VARCHAR: 1043,
  DATE: 1082,
  TIME: 1083,
  TIMESTAMP: 1114,
  TIMESTAMPTZ: 1184,
  INTERVAL: 1186,
  TIMETZ: 1266,
  NUMERIC: 1700,
  UUID: 2950,
  JSONB: 3802,
} as const;

// ---------------------------------------------------------------------------------------------- in

/** Quoted text, quoted identifiers, dollar quotes, comments and `::` casts are skipped; `:name` is a placeholder. */
const TOKEN =
  /'(?:[^']|'')*'|"(?:[^"]|"")*"|\$([A-Za-z_][A-Za-z0-9_]*)?\$[\s\S]*?\$\1\$|--[^\n]*|\/\*[\s\S]*?\*\/|::|:([A-Za-z_][A-Za-z0-9_]*)/g;

const HINT_TYPES: Record<string, number> = {
  DATE: OID.DATE,
  TIME: OID.TIME,
  TIMESTAMP: OID.TIMESTAMP,
  DECIMAL: OID.NUMERIC,
  JSON: OID.JSON,
  UUID: OID.UUID,
};

export interface Bound {
  text: string;
  values: unknown[];
  /** Parameter type OIDs for the Parse message (0: let PostgreSQL infer). */
  types: number[];
}

export const bindParameters = (sql: string, parameters: readonly SqlParameter[] = []): Bound => {
  const given = new Map<string, SqlParameter>();
  for (const parameter of parameters) {
    if (!parameter.name) throw new DataApiError('BadRequestException', 'Parameter name is required');
    given.set(parameter.name, parameter);
  }
  const order = new Map<string, number>();
  const values: unknown[] = [];
  const types: number[] = [];
  const text = sql.replace(TOKEN, (token, _dollarTag: string | undefined, name: string | undefined) => {
    if (!name) return token;
    let index = order.get(name);
    if (index === undefined) {
      const parameter = given.get(name);
      if (!parameter) throw new DataApiError('BadRequestException', `No value specified for parameter: ${name}`);
      const { value, type } = parameterValue(parameter);
      values.push(value);
      types.push(type);
      index = values.length;
      order.set(name, index);
    }
    return `$${index}`;
  });
  // The adapter's own comment relies on this: the Data API refuses values the statement has no placeholder for.
  for (const name of given.keys()) {
    if (!order.has(name)) throw new DataApiError('BadRequestException', `Parameter ${name} is not used in the SQL statement`);
  }
  return { text, values, types };
};

const parameterValue = ({ name, value, typeHint }: SqlParameter): { value: unknown; type: number } => {
  if (!value || value.isNull) return { value: null, type: 0 };
  if (value.stringValue !== undefined) return { value: value.stringValue, type: (typeHint && HINT_TYPES[typeHint]) || OID.VARCHAR };
  if (typeHint) throw new DataApiError('BadRequestException', `typeHint ${typeHint} applies only to a stringValue (parameter ${name})`);
  if (value.booleanValue !== undefined) return { value: value.booleanValue ? 'true' : 'false', type: OID.BOOL };
  if (value.longValue !== undefined) return { value: String(value.longValue), type: OID.INT8 };
  if (value.doubleValue !== undefined) return { value: String(value.doubleValue), type: OID.FLOAT8 };
  // On the wire a blob is base64 text (restJson1); the SDK's type says Uint8Array.
  if (value.blobValue !== undefined) {
    const blob: unknown = value.blobValue;
    return { value: typeof blob === 'string' ? Buffer.from(blob, 'base64') : Buffer.from(value.blobValue), type: OID.BYTEA };
  }
  if (value.arrayValue !== undefined) throw new DataApiError('BadRequestException', 'Array parameters are not supported.');
  throw new DataApiError('BadRequestException', `Parameter ${name} has no value`);
};

// --------------------------------------------------------------------------------------------- out

export interface ResultOptions {
  decimalReturnType?: string;
  longReturnType?: string;
}

const INTEGERS = new Set<number>([OID.INT2, OID.INT4, OID.INT8, OID.OID]);
const FLOATS = new Set<number>([OID.FLOAT4, OID.FLOAT8]);
const TIMESTAMPS = new Set<number>([OID.TIMESTAMP, OID.TIMESTAMPTZ]);

/** pg's own parsers for one-dimensional arrays of these element kinds (text form in, JS array out). */
const ARRAY_KINDS: Record<number, 'boolean' | 'long' | 'double' | 'string'> = {
  1000: 'boolean',
  1005: 'long',
  1007: 'long',
  1016: 'long',
  1021: 'double',
  1022: 'double',
  1009: 'string',
  1015: 'string',
  1014: 'string',
  1182: 'string',
  1115: 'string',
  1185: 'string',
  2951: 'string',
  1231: 'string',
};

/** A column value, from PostgreSQL's text form (null for SQL NULL), as a typed Field. */
export const toField = (text: string | null, oid: number, options: ResultOptions = {}): Field => {
  if (text === null) return { isNull: true };
  if (oid === OID.BOOL) return { booleanValue: text === 't' };
  if (INTEGERS.has(oid))
    return oid === OID.INT8 && options.longReturnType === 'STRING' ? { stringValue: text } : { longValue: Number(text) };
  if (FLOATS.has(oid)) return { doubleValue: Number(text) };
  if (oid === OID.NUMERIC && options.decimalReturnType === 'DOUBLE_OR_LONG' && /^-?\d+(\.\d+)?$/.test(text)) {
    return text.includes('.') ? { doubleValue: Number(text) } : { longValue: Number(text) };
  }
  if (TIMESTAMPS.has(oid)) return { stringValue: stripUtcOffset(text) };
  if (oid === OID.BYTEA) return { blobValue: Buffer.from(text.slice(2), 'hex') };
  const kind = ARRAY_KINDS[oid];
  if (kind) return { arrayValue: arrayValue(text, oid, kind) };
  return { stringValue: text };
};

/** '2024-03-01 10:34:56.789+00' → '2024-03-01 10:34:56.789' (connections run with TimeZone=UTC). */
const stripUtcOffset = (text: string) => text.replace(/\+00(?::00)?$/, '');

const arrayValue = (text: string, oid: number, kind: 'boolean' | 'long' | 'double' | 'string'): NonNullable<Field['arrayValue']> => {
  if (/^\{\s*\{/.test(text) || /^\[/.test(text)) {
    throw new DataApiError('UnsupportedResultException', 'The result contains a multidimensional array, which is not supported.');
  }
  const items = (pg.types.getTypeParser(oid, 'text') as (value: string) => unknown[])(text);
  switch (kind) {
    case 'boolean':
      return { booleanValues: items as boolean[] };
    case 'long':
      return { longValues: items.map((item) => (item === null ? (null as unknown as number) : Number(item))) };
    case 'double':
      return { doubleValues: items.map((item) => (item === null ? (null as unknown as number) : Number(item))) };
    default:
      return {
        stringValues: items.map((item) =>
          item === null ? (null as unknown as string) : oid === 1185 || oid === 1115 ? stripUtcOffset(String(item)) : String(item),
        ),
      };
  }
};

/** A column value for `formatRecordsAs: 'JSON'`: numbers and booleans as JSON, everything else as text. */
export const toJsonValue = (text: string | null, oid: number, options: ResultOptions = {}): unknown => {
  const field = toField(text, oid, options);
  if (field.isNull) return null;
  if (field.booleanValue !== undefined) return field.booleanValue;
  if (field.longValue !== undefined) return field.longValue;
  if (field.doubleValue !== undefined) return field.doubleValue;
  if (field.blobValue !== undefined) return Buffer.from(field.blobValue).toString('base64');
  if (field.arrayValue !== undefined) {
    const array = field.arrayValue;
    return array.booleanValues ?? array.longValues ?? array.doubleValues ?? array.stringValues ?? [];
  }
  return field.stringValue;
};

/** JDBC type codes (java.sql.Types), which the Data API reports in ColumnMetadata.type. */
const JDBC: Record<number, { type: number; precision: number; signed: boolean; caseSensitive: boolean }> = {
  [OID.BOOL]: { type: -7, precision: 1, signed: false, caseSensitive: false },
  [OID.BYTEA]: { type: -2, precision: 2147483647, signed: false, caseSensitive: false },
  [OID.INT2]: { type: 5, precision: 5, signed: true, caseSensitive: false },
  [OID.INT4]: { type: 4, precision: 10, signed: true, caseSensitive: false },
  [OID.INT8]: { type: -5, precision: 19, signed: true, caseSensitive: false },
  [OID.OID]: { type: -5, precision: 10, signed: false, caseSensitive: false },
  [OID.FLOAT4]: { type: 7, precision: 8, signed: true, caseSensitive: false },
  [OID.FLOAT8]: { type: 8, precision: 17, signed: true, caseSensitive: false },
  [OID.NUMERIC]: { type: 2, precision: 0, signed: true, caseSensitive: false },
  [OID.TEXT]: { type: 12, precision: 2147483647, signed: false, caseSensitive: true },
  [OID.VARCHAR]: { type: 12, precision: 2147483647, signed: false, caseSensitive: true },
  [OID.BPCHAR]: { type: 1, precision: 2147483647, signed: false, caseSensitive: true },
  [OID.NAME]: { type: 12, precision: 2147483647, signed: false, caseSensitive: true },
  [OID.DATE]: { type: 91, precision: 13, signed: false, caseSensitive: false },
  [OID.TIME]: { type: 92, precision: 15, signed: false, caseSensitive: false },
  [OID.TIMESTAMP]: { type: 93, precision: 29, signed: false, caseSensitive: false },
  [OID.TIMESTAMPTZ]: { type: 93, precision: 35, signed: false, caseSensitive: false },
};
const OTHER = { type: 1111, precision: 2147483647, signed: false, caseSensitive: false };

export interface ColumnSource {
  tableName: string;
  schemaName: string;
  notNull: boolean;
  autoIncrement: boolean;
}

export const columnMetadata = (field: pg.FieldDef, typeName: string, source?: ColumnSource): ColumnMetadata => {
  const jdbc = JDBC[field.dataTypeID] ?? (typeName.startsWith('_') ? { ...OTHER, type: 2003 } : OTHER);
  const numericScale = field.dataTypeID === OID.NUMERIC && field.dataTypeModifier >= 4 ? (field.dataTypeModifier - 4) & 0xffff : 0;
  const numericPrecision =
    field.dataTypeID === OID.NUMERIC && field.dataTypeModifier >= 4 ? ((field.dataTypeModifier - 4) >> 16) & 0xffff : 0;
  return {
    name: field.name,
    type: jdbc.type,
    typeName,
    label: field.name,
    schemaName: source?.schemaName ?? '',
    tableName: source?.tableName ?? '',
    isAutoIncrement: source?.autoIncrement ?? false,
    isSigned: jdbc.signed,
    isCurrency: false,
    isCaseSensitive: jdbc.caseSensitive,
    nullable: source?.notNull ? 0 : 1,
    precision: field.dataTypeID === OID.NUMERIC ? numericPrecision : jdbc.precision,
    scale: numericScale,
    arrayBaseColumnType: 0,
  };
};
