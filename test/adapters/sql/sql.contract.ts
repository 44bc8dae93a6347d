/**
 * The Sql port's promises (functions/core/ports/sql.ts), as one suite that every adapter runs unchanged:
 * sql.pglite.test.ts and sql.rds-data.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from '../../../functions/core/ports/sql';

export interface SqlUnderTest {
  sql: Sql;
  stop(): Promise<void>;
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export const describeSqlContract = (name: string, start: () => Promise<SqlUnderTest>) => {
  describe(`Sql contract: ${name}`, () => {
    let subject: SqlUnderTest;
    let sql: Sql;
    let counter = 0;
    /** A fresh table per test, so tests never see each other's rows. */
    const freshTable = async () => {
      const table = `contract_items_${++counter}`;
      await sql.query(`CREATE TABLE ${table} (
        id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name       text NOT NULL UNIQUE,
        quantity   integer,
        price      numeric(10, 2),
        ratio      double precision,
        active     boolean,
        doc        jsonb,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
      return table;
    };

    beforeAll(async () => {
      subject = await start();
      sql = subject.sql;
    });
    afterAll(async () => {
      await subject?.stop();
    });

    it('returns rows as plain objects keyed by column label', async () => {
      const rows = await sql.query(`SELECT 'a' AS first, 'b' AS "Second Column"`);
      expect(rows).toEqual([{ first: 'a', 'Second Column': 'b' }]);
      expect(Object.getPrototypeOf(rows[0])).toBe(Object.prototype);
    });

    it('returns an empty array for no rows and for statements without RETURNING', async () => {
      const table = await freshTable();
      expect(await sql.query(`SELECT * FROM ${table}`)).toEqual([]);
      expect(await sql.query(`INSERT INTO ${table} (name) VALUES (:name)`, { name: 'x' })).toEqual([]);
      expect(await sql.query(`UPDATE ${table} SET quantity = 1 WHERE name = :name`, { name: 'x' })).toEqual([]);
    });

    it('binds named parameters of every promised type, reusing a name', async () => {
      const [row] = await sql.query(
        `SELECT CAST(:text AS text) AS text, CAST(:count AS integer) AS count, CAST(:ratio AS double precision) AS ratio,
                CAST(:flag AS boolean) AS flag, CAST(:nothing AS text) AS nothing, CAST(:count AS integer) + 1 AS next`,
        { text: 'héllo 🌍', count: 41, ratio: 0.25, flag: true, nothing: null },
      );
      expect(row).toEqual({ text: 'héllo 🌍', count: 41, ratio: 0.25, flag: true, nothing: null, next: 42 });
    });

    it('leaves ::casts, quoted text and comments alone when finding parameters', async () => {
      const [row] = await sql.query(
        `SELECT '1'::integer AS cast_value, ':not_a_param' AS literal /* :nor_this */, CAST(:real AS text) AS real -- :or_this`,
        { real: 'yes' },
      );
      expect(row).toEqual({ cast_value: 1, literal: ':not_a_param', real: 'yes' });
    });

    it('refuses a statement whose parameter has no value', async () => {
      await expect(sql.query('SELECT CAST(:missing AS text) AS value', {})).rejects.toThrow(/missing SQL parameter :missing/);
    });

    it('gives bigint and numeric as decimal strings', async () => {
      const table = await freshTable();
      await sql.query(`INSERT INTO ${table} (name, price) VALUES ('a', 12.5), ('b', 0.1), ('c', NULL)`);
      const rows = await sql.query(`SELECT id, price FROM ${table} ORDER BY id`);
      expect(rows).toEqual([
        { id: '1', price: '12.50' },
        { id: '2', price: '0.10' },
        { id: '3', price: null },
      ]);
      const [counted] = await sql.query(`SELECT count(*) AS n, CAST(:big AS bigint) AS big FROM ${table}`, { big: 4_294_967_296_000 });
      expect(counted).toEqual({ n: '3', big: '4294967296000' });
    });

    it('gives integers and floating point values as numbers, booleans as booleans', async () => {
      const table = await freshTable();
      await sql.query(`INSERT INTO ${table} (name, quantity, ratio, active) VALUES (:name, :quantity, :ratio, :active)`, {
        name: 'n',
        quantity: -7,
        ratio: 1.5,
        active: false,
      });
      expect(await sql.query(`SELECT quantity, ratio, active FROM ${table}`)).toEqual([{ quantity: -7, ratio: 1.5, active: false }]);
    });

    it('gives timestamptz as ISO 8601 UTC, whatever offset it was written with', async () => {
      const [row] = await sql.query(
        `SELECT CAST('2024-03-01 12:34:56.789+02' AS timestamptz) AS written, CAST(:at AS timestamptz) AS bound, now() AS now`,
        { at: '2024-12-31T23:59:59.5Z' },
      );
      expect(row).toEqual({ written: '2024-03-01T10:34:56.789Z', bound: '2024-12-31T23:59:59.500Z', now: expect.stringMatching(ISO_UTC) });
      expect(Math.abs(Date.parse(row!.now as string) - Date.now())).toBeLessThan(60 * 60 * 1000);
    });

    it('gives json and jsonb parsed, from JSON passed as text', async () => {
      const table = await freshTable();
      const doc = { nested: { list: [1, 'two', null, true] }, unicode: 'ü' };
      await sql.query(`INSERT INTO ${table} (name, doc) VALUES (:name, CAST(:doc AS jsonb))`, { name: 'j', doc: JSON.stringify(doc) });
      const [row] = await sql.query(`SELECT doc, CAST('[1,2]' AS json) AS plain, CAST(NULL AS jsonb) AS missing FROM ${table}`);
      expect(row).toEqual({ doc, plain: [1, 2], missing: null });
    });

    it('returns generated values through RETURNING', async () => {
      const table = await freshTable();
      const [row] = await sql.query(`INSERT INTO ${table} (name) VALUES (:name) RETURNING id, name, created_at`, { name: 'r' });
      expect(row).toEqual({ id: '1', name: 'r', created_at: expect.stringMatching(ISO_UTC) });
    });

    it('commits a transaction that resolves, and returns its value', async () => {
      const table = await freshTable();
      const result = await sql.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${table} (name) VALUES (:name)`, { name: 'one' });
        const [row] = await tx.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
        return row!.n;
      });
      expect(result).toBe('1');
      expect(await sql.query(`SELECT name FROM ${table}`)).toEqual([{ name: 'one' }]);
    });

    it('rolls back a transaction whose work throws, and rethrows that error', async () => {
      const table = await freshTable();
      const failure = new Error('work failed');
      await expect(
        sql.transaction(async (tx) => {
          await tx.query(`INSERT INTO ${table} (name) VALUES ('kept?')`);
          throw failure;
        }),
      ).rejects.toBe(failure);
      expect(await sql.query(`SELECT * FROM ${table}`)).toEqual([]);
    });

    it('rolls back everything when a statement inside the transaction fails', async () => {
      const table = await freshTable();
      await expect(
        sql.transaction(async (tx) => {
          await tx.query(`INSERT INTO ${table} (name) VALUES ('first')`);
          await tx.query(`INSERT INTO ${table} (name) VALUES ('first')`); // violates UNIQUE
        }),
      ).rejects.toThrow();
      expect(await sql.query(`SELECT * FROM ${table}`)).toEqual([]);
      // The connection is usable afterwards.
      expect(await sql.query('SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
    });

    it('applies the isolation level and refuses writes in a read-only transaction', async () => {
      const table = await freshTable();
      const isolation = await sql.transaction(
        async (tx) => (await tx.query<{ transaction_isolation: string }>('SHOW transaction_isolation'))[0]!.transaction_isolation,
        { isolation: 'serializable' },
      );
      expect(isolation).toBe('serializable');
      await expect(sql.transaction((tx) => tx.query(`INSERT INTO ${table} (name) VALUES ('no')`), { readOnly: true })).rejects.toThrow(
        /read-only/,
      );
      expect(await sql.query(`SELECT * FROM ${table}`)).toEqual([]);
    });

    it('runs transactions one after another without losing updates', async () => {
      const table = await freshTable();
      await sql.query(`INSERT INTO ${table} (name, quantity) VALUES ('counter', 0)`);
      await Promise.all(
        Array.from({ length: 5 }, () =>
          sql.transaction(async (tx) => {
            const [row] = await tx.query<{ quantity: number }>(`SELECT quantity FROM ${table} WHERE name = 'counter' FOR UPDATE`);
            await tx.query(`UPDATE ${table} SET quantity = :next WHERE name = 'counter'`, { next: row!.quantity + 1 });
          }),
        ),
      );
      expect(await sql.query(`SELECT quantity FROM ${table}`)).toEqual([{ quantity: 5 }]);
    });
  });
};
