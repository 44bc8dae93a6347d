import type { SqlParams } from '../../core/ports/sql';

/**
 * Rewrites `:name` placeholders (the RDS Data API's style) into PostgreSQL's `$1, $2, ...` for drivers.
 * Skips `::type` casts, quoted strings and identifiers, and comments.
 */
const TOKEN = /'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|\/\*[\s\S]*?\*\/|::|:([A-Za-z_][A-Za-z0-9_]*)/g;

export const toPositional = (sql: string, params: SqlParams = {}): { text: string; values: unknown[] } => {
  const order = new Map<string, number>();
  const values: unknown[] = [];
  const text = sql.replace(TOKEN, (token, name: string | undefined) => {
    if (!name) return token;
    if (!Object.hasOwn(params, name)) throw new Error(`missing SQL parameter :${name}`);
    let index = order.get(name);
    if (index === undefined) {
      values.push(params[name]);
      index = values.length;
      order.set(name, index);
    }
    return `$${index}`;
  });
  return { text, values };
};

/** The distinct `:name` placeholders of a statement, in order of first use (the RDS Data API takes them as they are). */
export const parameterNames = (sql: string): string[] => [
  ...new Set([...sql.matchAll(TOKEN)].map((match) => match[1]).filter((name): name is string => name !== undefined)),
];
