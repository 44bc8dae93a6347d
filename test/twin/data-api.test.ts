/**
 * The Data API twin (twin/data-api) through the real @aws-sdk/client-rds-data over HTTP, configured only
 * by the environment, on a real PostgreSQL 15.
 */
import {
  AccessDeniedException,
  BadRequestException,
  BatchExecuteStatementCommand,
  BeginTransactionCommand,
  CommitTransactionCommand,
  DatabaseErrorException,
  DatabaseResumingException,
  ExecuteStatementCommand,
  type ExecuteStatementCommandInput,
  RDSDataClient,
  RollbackTransactionCommand,
  StatementTimeoutException,
} from '@aws-sdk/client-rds-data';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MESSAGES } from '../../twin/data-api/errors';
import { type Check, type DataApi, type DataApiLimits, type Gate, startDataApi } from '../../twin/data-api/server';
import { createGate } from '../../twin/iam/gate';
import { credentialsOfRole, TWIN_ACCOUNT } from '../../twin/identity';
import { templateFromJson } from '../../twin/template';
import { type PostgresServer, startPostgresServer } from '../support/postgres-server';

const TARGET = {
  resourceArn: 'arn:aws:rds:us-east-1:123456789012:cluster:interview-ops',
  secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:interview-ops-abc123',
  database: 'interview_ops',
};

interface RecordingGate extends Gate {
  asked: { service: string; path: string; checks: Check[] }[];
}

const allowAll = (): RecordingGate => {
  const asked: RecordingGate['asked'] = [];
  return {
    asked,
    async authorize(service, request, checks) {
      asked.push({ service, path: request.path, checks });
      return { allowed: true, principal: 'test-role' };
    },
  };
};

const denyAll = (): RecordingGate => {
  const asked: RecordingGate['asked'] = [];
  return {
    asked,
    async authorize(service, request, checks) {
      asked.push({ service, path: request.path, checks });
      return {
        allowed: false,
        status: 403,
        code: 'AccessDeniedException',
        reason: 'policy',
        message: `User: arn:aws:sts::123456789012:assumed-role/test-role/fn is not authorized to perform: ${checks[0]!.action} on resource: ${checks[0]!.resource}`,
      };
    },
  };
};

interface Database {
  server: PostgresServer;
  url: string;
  stop(): Promise<void>;
}

const startDatabase = async (): Promise<Database> => {
  const server = await startPostgresServer();
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${TARGET.database}`);
  await admin.end();
  return { server, url: server.url.replace(/\/postgres$/, `/${TARGET.database}`), stop: () => server.stop() };
};

const startTwin = (database: Database, gate: Gate, limits?: Partial<DataApiLimits>): Promise<DataApi> =>
  startDataApi({
    databaseUrl: database.url,
    gate,
    clusterArn: TARGET.resourceArn,
    secretArn: TARGET.secretArn,
    database: TARGET.database,
    ...(limits ? { limits } : {}),
  });

/** What the SDK's default chain reads from the environment, as on a Lambda pointed at the twin. */
const pointSdkAt = (url: string) => {
  process.env.AWS_ENDPOINT_URL_RDS_DATA = url;
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID = 'AKIDTWINTEST';
  process.env.AWS_SECRET_ACCESS_KEY = 'twin-secret';
  delete process.env.AWS_PROFILE;
};

let database: Database;
let api: DataApi;
let gate: RecordingGate;
let client: RDSDataClient;

const execute = (input: Omit<ExecuteStatementCommandInput, 'resourceArn' | 'secretArn' | 'database'>, on = client) =>
  on.send(new ExecuteStatementCommand({ ...TARGET, ...input }));
const begin = (on = client) => on.send(new BeginTransactionCommand(TARGET)).then((output) => output.transactionId!);
const commit = (transactionId: string, on = client) =>
  on.send(new CommitTransactionCommand({ resourceArn: TARGET.resourceArn, secretArn: TARGET.secretArn, transactionId }));
const rollback = (transactionId: string, on = client) =>
  on.send(new RollbackTransactionCommand({ resourceArn: TARGET.resourceArn, secretArn: TARGET.secretArn, transactionId }));
const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error as Error & { $metadata?: { httpStatusCode?: number } },
  );

beforeAll(async () => {
  database = await startDatabase();
  gate = allowAll();
  api = await startTwin(database, gate);
  pointSdkAt(api.url);
  client = new RDSDataClient({});
});

afterAll(async () => {
  client?.destroy();
  await api?.close();
  await database?.stop();
});

/** Waits until PostgreSQL runs no statement carrying `tag`: the twin cancelled it rather than letting it run on. */
const expectNoActiveStatement = async (tag: string) => {
  const watcher = new pg.Client({ connectionString: database.url });
  await watcher.connect();
  try {
    const active = async () =>
      (
        await watcher.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%' || $1 || '%' AND state = 'active' AND pid <> pg_backend_pid()`,
          [tag],
        )
      ).rows[0].n;
    await expect.poll(active, { timeout: 10_000, interval: 100 }).toBe(0);
  } finally {
    await watcher.end();
  }
};

describe('Data API twin: statements', () => {
  it('is reached through AWS_ENDPOINT_URL_RDS_DATA alone, and asks the gate for the action and the secret', async () => {
    const before = api.calls();
    const output = await execute({ sql: 'SELECT 1 AS one' });
    expect(output.records).toEqual([[{ longValue: 1 }]]);
    expect(api.calls()).toBe(before + 1);
    expect(gate.asked.at(-1)).toEqual({
      service: 'rds-data',
      path: '/Execute',
      checks: [
        { action: 'rds-data:ExecuteStatement', resource: TARGET.resourceArn },
        { action: 'secretsmanager:GetSecretValue', resource: TARGET.secretArn },
      ],
    });
  });

  it('round-trips every type the project uses as typed Fields with PostgreSQL type names', async () => {
    await execute({
      sql: `CREATE TABLE typed (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, n integer, big bigint, t text NOT NULL,
            doc jsonb, at timestamptz, flag boolean, missing text)`,
    });
    const inserted = await execute({
      sql: 'INSERT INTO typed (n, big, t, doc, at, flag, missing) VALUES (:n, :big, :t, CAST(:doc AS jsonb), CAST(:at AS timestamptz), :flag, :missing)',
      parameters: [
        { name: 'n', value: { longValue: -7 } },
        { name: 'big', value: { longValue: 4_294_967_296_000 } },
        { name: 't', value: { stringValue: 'héllo 🌍' } },
        { name: 'doc', value: { stringValue: '{"a": [1, "two", null]}' } },
        { name: 'at', value: { stringValue: '2024-03-01T12:34:56.789+02:00' } },
        { name: 'flag', value: { booleanValue: true } },
        { name: 'missing', value: { isNull: true } },
      ],
    });
    expect(inserted).toMatchObject({ numberOfRecordsUpdated: 1, generatedFields: [] });
    expect(inserted.records).toBeUndefined();

    const output = await execute({ sql: 'SELECT id, n, big, t, doc, at, flag, missing FROM typed', includeResultMetadata: true });
    expect(output.records).toEqual([
      [
        { longValue: 1 },
        { longValue: -7 },
        { longValue: 4_294_967_296_000 },
        { stringValue: 'héllo 🌍' },
        { stringValue: '{"a": [1, "two", null]}' },
        { stringValue: '2024-03-01 10:34:56.789' },
        { booleanValue: true },
        { isNull: true },
      ],
    ]);
    expect(output.numberOfRecordsUpdated).toBe(0);
    expect(output.columnMetadata?.map((column) => [column.label, column.typeName])).toEqual([
      ['id', 'int8'],
      ['n', 'int4'],
      ['big', 'int8'],
      ['t', 'text'],
      ['doc', 'jsonb'],
      ['at', 'timestamptz'],
      ['flag', 'bool'],
      ['missing', 'text'],
    ]);
    expect(output.columnMetadata?.[0]).toMatchObject({ tableName: 'typed', isAutoIncrement: true, nullable: 0, type: -5 });
    expect(output.columnMetadata?.[3]).toMatchObject({ nullable: 0, isCaseSensitive: true });
    expect(output.columnMetadata?.[1]).toMatchObject({ nullable: 1, isAutoIncrement: false });
  });

  it('binds a stringValue as varchar, as AWS does: a jsonb column needs a cast or a typeHint', async () => {
    await execute({ sql: 'CREATE TABLE hinted (doc jsonb, id uuid, day date, amount numeric(10, 2), at_time time, stamp timestamp)' });
    const failure = await failureOf(
      execute({ sql: 'INSERT INTO hinted (doc) VALUES (:doc)', parameters: [{ name: 'doc', value: { stringValue: '{}' } }] }),
    );
    expect(failure).toBeInstanceOf(DatabaseErrorException);
    expect(failure.message).toMatch(
      /^ERROR: column "doc" is of type jsonb but expression is of type character varying[\s\S]*; SQLState: 42804$/,
    );
    await execute({
      sql: 'INSERT INTO hinted (doc, id, day, amount, at_time, stamp) VALUES (:doc, :id, :day, :amount, :at_time, :stamp)',
      parameters: [
        { name: 'doc', value: { stringValue: '{"k": 1}' }, typeHint: 'JSON' },
        { name: 'id', value: { stringValue: '6f1c0f4e-8a31-4c41-9d5e-1f2a3b4c5d6e' }, typeHint: 'UUID' },
        { name: 'day', value: { stringValue: '2024-02-29' }, typeHint: 'DATE' },
        { name: 'amount', value: { stringValue: '12.5' }, typeHint: 'DECIMAL' },
        { name: 'at_time', value: { stringValue: '13:45:30' }, typeHint: 'TIME' },
        { name: 'stamp', value: { stringValue: '2024-02-29 13:45:30.25' }, typeHint: 'TIMESTAMP' },
      ],
    });
    const output = await execute({ sql: 'SELECT doc, id, day, amount, at_time, stamp FROM hinted', includeResultMetadata: true });
    expect(output.records).toEqual([
      [
        { stringValue: '{"k": 1}' },
        { stringValue: '6f1c0f4e-8a31-4c41-9d5e-1f2a3b4c5d6e' },
        { stringValue: '2024-02-29' },
        { stringValue: '12.50' },
        { stringValue: '13:45:30' },
        { stringValue: '2024-02-29 13:45:30.25' },
      ],
    ]);
    expect(output.columnMetadata?.map((column) => column.typeName)).toEqual(['jsonb', 'uuid', 'date', 'numeric', 'time', 'timestamp']);
    expect(output.columnMetadata?.[3]).toMatchObject({ precision: 10, scale: 2 });
  });

  it('gives formatRecordsAs JSON as one formattedRecords string, without records or metadata', async () => {
    const output = await execute({
      sql: `SELECT 1 AS n, CAST(9000000000 AS bigint) AS big, 'x' AS t, true AS flag, NULL AS nothing,
                   CAST('{"a":1}' AS jsonb) AS doc, CAST('2024-01-02 03:04:05+00' AS timestamptz) AS at, CAST(1.50 AS numeric) AS price`,
      formatRecordsAs: 'JSON',
      includeResultMetadata: true,
    });
    expect(output.records).toBeUndefined();
    expect(output.columnMetadata).toBeUndefined();
    expect(JSON.parse(output.formattedRecords!)).toEqual([
      { n: 1, big: 9_000_000_000, t: 'x', flag: true, nothing: null, doc: '{"a": 1}', at: '2024-01-02 03:04:05', price: '1.50' },
    ]);
  });

  it('counts updated records and refuses parameters the statement does not use', async () => {
    await execute({ sql: 'CREATE TABLE counted (n integer)' });
    await execute({ sql: 'INSERT INTO counted SELECT generate_series(1, 5)' });
    const updated = await execute({
      sql: 'UPDATE counted SET n = n + 1 WHERE n > :low',
      parameters: [{ name: 'low', value: { longValue: 2 } }],
    });
    expect(updated.numberOfRecordsUpdated).toBe(3);
    const failure = await failureOf(execute({ sql: 'SELECT 1', parameters: [{ name: 'extra', value: { longValue: 1 } }] }));
    expect(failure).toBeInstanceOf(BadRequestException);
  });

  it('reports a SQL error as DatabaseErrorException with the PostgreSQL message and SQLState', async () => {
    await execute({ sql: 'CREATE TABLE unique_names (name text PRIMARY KEY)' });
    await execute({ sql: `INSERT INTO unique_names VALUES ('a')` });
    const failure = await failureOf(execute({ sql: `INSERT INTO unique_names VALUES ('a')` }));
    expect(failure).toBeInstanceOf(DatabaseErrorException);
    expect(failure.$metadata?.httpStatusCode).toBe(400);
    expect(failure.message).toBe(
      'ERROR: duplicate key value violates unique constraint "unique_names_pkey"\n  Detail: Key (name)=(a) already exists.; SQLState: 23505',
    );
  });

  it('gives bytea as blobValue and one-dimensional arrays as arrayValue, and binds a blobValue as bytea', async () => {
    const output = await execute({
      sql: `SELECT :blob AS blob, ARRAY[1, 2, NULL]::int4[] AS ints, ARRAY['a', 'b']::text[] AS texts, ARRAY[true, false] AS flags,
                   ARRAY[1.5, 2.5]::float8[] AS floats`,
      parameters: [{ name: 'blob', value: { blobValue: new Uint8Array([0, 1, 254, 255]) } }],
      includeResultMetadata: true,
    });
    const [blob, ints, texts, flags, floats] = output.records![0]!;
    expect([...(blob!.blobValue ?? [])]).toEqual([0, 1, 254, 255]);
    expect(ints).toEqual({ arrayValue: { longValues: [1, 2, null] } });
    expect(texts).toEqual({ arrayValue: { stringValues: ['a', 'b'] } });
    expect(flags).toEqual({ arrayValue: { booleanValues: [true, false] } });
    expect(floats).toEqual({ arrayValue: { doubleValues: [1.5, 2.5] } });
    expect(output.columnMetadata?.map((column) => column.typeName)).toEqual(['bytea', '_int4', '_text', '_bool', '_float8']);
  });

  it('starts every call outside a transaction clean: no SET or BEGIN carries over to the next', async () => {
    await execute({ sql: `SET TIME ZONE 'America/New_York'` });
    expect((await execute({ sql: 'SHOW TimeZone' })).records).toEqual([[{ stringValue: 'UTC' }]]);
    await execute({ sql: 'CREATE TABLE after_begin (n integer)' });
    await execute({ sql: 'BEGIN' });
    await execute({ sql: 'INSERT INTO after_begin VALUES (1)' });
    const outside = new pg.Client({ connectionString: database.url });
    await outside.connect();
    try {
      expect((await outside.query('SELECT n FROM after_begin')).rows).toEqual([{ n: 1 }]);
    } finally {
      await outside.end();
    }
  });

  it('runs BatchExecuteStatement once per parameter set, all or nothing', async () => {
    await execute({ sql: 'CREATE TABLE batched (n integer PRIMARY KEY)' });
    const sets = [1, 2, 3].map((n) => [{ name: 'n', value: { longValue: n } }]);
    const output = await client.send(
      new BatchExecuteStatementCommand({ ...TARGET, sql: 'INSERT INTO batched VALUES (:n)', parameterSets: sets }),
    );
    expect(output.updateResults).toHaveLength(3);
    const failing = [[{ name: 'n', value: { longValue: 4 } }], [{ name: 'n', value: { longValue: 1 } }]];
    const failure = await failureOf(
      client.send(new BatchExecuteStatementCommand({ ...TARGET, sql: 'INSERT INTO batched VALUES (:n)', parameterSets: failing })),
    );
    expect(failure).toBeInstanceOf(DatabaseErrorException);
    const rows = await execute({ sql: 'SELECT n FROM batched ORDER BY n' });
    expect(rows.records).toEqual([[{ longValue: 1 }], [{ longValue: 2 }], [{ longValue: 3 }]]);
  });
});

describe('Data API twin: transactions', () => {
  it('keeps a transaction’s writes to itself until CommitTransaction', async () => {
    await execute({ sql: 'CREATE TABLE tx_commit (name text)' });
    const id = await begin();
    await execute({ sql: `INSERT INTO tx_commit VALUES ('inside')`, transactionId: id });
    expect((await execute({ sql: 'SELECT name FROM tx_commit', transactionId: id })).records).toEqual([[{ stringValue: 'inside' }]]);
    expect((await execute({ sql: 'SELECT name FROM tx_commit' })).records).toEqual([]);
    expect(await commit(id)).toMatchObject({ transactionStatus: 'Transaction Committed' });
    expect((await execute({ sql: 'SELECT name FROM tx_commit' })).records).toEqual([[{ stringValue: 'inside' }]]);
  });

  it('discards a transaction’s writes on RollbackTransaction, and forgets its id', async () => {
    await execute({ sql: 'CREATE TABLE tx_rollback (name text)' });
    const id = await begin();
    await execute({ sql: `INSERT INTO tx_rollback VALUES ('gone')`, transactionId: id });
    expect(await rollback(id)).toMatchObject({ transactionStatus: 'Rollback Complete' });
    expect((await execute({ sql: 'SELECT name FROM tx_rollback' })).records).toEqual([]);
    const failure = await failureOf(commit(id));
    expect(failure).toBeInstanceOf(BadRequestException);
    expect(failure.message).toBe(MESSAGES.transactionNotFound(id));
  });

  it('answers an unknown transaction id with BadRequestException "Transaction … is not found"', async () => {
    const failure = await failureOf(execute({ sql: 'SELECT 1', transactionId: 'not-a-transaction' }));
    expect(failure).toBeInstanceOf(BadRequestException);
    expect(failure.message).toBe('Transaction not-a-transaction is not found');
  });

  it('ends a transaction whose statement fails, rolled back', async () => {
    await execute({ sql: 'CREATE TABLE tx_failed (name text PRIMARY KEY)' });
    const id = await begin();
    await execute({ sql: `INSERT INTO tx_failed VALUES ('first')`, transactionId: id });
    expect(await failureOf(execute({ sql: `INSERT INTO tx_failed VALUES ('first')`, transactionId: id }))).toBeInstanceOf(
      DatabaseErrorException,
    );
    expect((await failureOf(commit(id))).message).toBe(MESSAGES.transactionNotFound(id));
    expect((await execute({ sql: 'SELECT name FROM tx_failed' })).records).toEqual([]);
  });
});

describe('Data API twin: documented limits', () => {
  it('refuses a row over 64 KB with BadRequestException, and serves one under it', async () => {
    const under = await execute({ sql: `SELECT repeat('x', 60000) AS big` });
    expect(under.records?.[0]?.[0]?.stringValue).toHaveLength(60000);
    const failure = await failureOf(execute({ sql: `SELECT repeat('x', 70000) AS big` }));
    expect(failure).toBeInstanceOf(BadRequestException);
    expect(failure.message).toBe(MESSAGES.ROW_TOO_LARGE);
  });

  it('refuses a response over 1 MiB with BadRequestException, and serves one under it', async () => {
    const under = await execute({ sql: `SELECT repeat('x', 60000) AS part FROM generate_series(1, 17)` });
    expect(under.records).toHaveLength(17);
    const failure = await failureOf(execute({ sql: `SELECT repeat('x', 60000) AS part FROM generate_series(1, 18)` }));
    expect(failure).toBeInstanceOf(BadRequestException);
    expect(failure.message).toBe('Database returned more than the allowed response size limit');
  });

  it('stops a result past 1 MiB in the database instead of reading it whole', async () => {
    const failure = await failureOf(
      execute({ sql: `SELECT repeat('z', 1000) AS part, 'twin-huge-probe' AS tag FROM generate_series(1, 5000000)` }),
    );
    expect(failure.message).toBe(MESSAGES.RESPONSE_TOO_LARGE);
    await expectNoActiveStatement('twin-huge-probe');
  });

  it('refuses a request over 4 MiB before running it', async () => {
    await execute({ sql: 'CREATE TABLE big_requests (body text)' });
    const failure = await failureOf(
      execute({
        sql: 'INSERT INTO big_requests VALUES (:body)',
        parameters: [{ name: 'body', value: { stringValue: 'y'.repeat(4 * 1024 * 1024) } }],
      }),
    );
    expect(failure).toBeInstanceOf(BadRequestException);
    expect(failure.message).toBe(MESSAGES.REQUEST_TOO_LARGE);
    expect((await execute({ sql: 'SELECT count(*) AS n FROM big_requests' })).records).toEqual([[{ longValue: 0 }]]);
  });
});

describe('Data API twin: refusals', () => {
  it('answers every call with DatabaseResumingException while resuming, and serves again after', async () => {
    api.setResuming(true);
    try {
      const failure = await failureOf(execute({ sql: 'SELECT 1' }));
      expect(failure).toBeInstanceOf(DatabaseResumingException);
      expect(failure.name).toBe('DatabaseResumingException');
      expect(await failureOf(begin())).toBeInstanceOf(DatabaseResumingException);
    } finally {
      api.setResuming(false);
    }
    expect((await execute({ sql: 'SELECT 2 AS two' })).records).toEqual([[{ longValue: 2 }]]);
  });

  it('answers 403 AccessDeniedException when the gate denies, and runs nothing', async () => {
    const deny = denyAll();
    const denying = await startTwin(database, deny);
    const denied = new RDSDataClient({ endpoint: denying.url });
    try {
      const failure = await failureOf(execute({ sql: 'CREATE TABLE never_made (n integer)' }, denied));
      expect(failure).toBeInstanceOf(AccessDeniedException);
      expect(failure.$metadata?.httpStatusCode).toBe(403);
      expect(failure.message).toContain('is not authorized to perform: rds-data:ExecuteStatement');
      expect(deny.asked).toHaveLength(1);
      expect(denying.calls()).toBe(0);
      const exists = await execute({ sql: `SELECT to_regclass('never_made') IS NOT NULL AS made` });
      expect(exists.records).toEqual([[{ booleanValue: false }]]);
    } finally {
      denied.destroy();
      await denying.close();
    }
  });

  it('refuses another cluster, another secret and another database with BadRequestException', async () => {
    const wrongCluster = await failureOf(
      client.send(new ExecuteStatementCommand({ ...TARGET, resourceArn: `${TARGET.resourceArn}-other`, sql: 'SELECT 1' })),
    );
    expect(wrongCluster).toBeInstanceOf(BadRequestException);
    expect(wrongCluster.message).toBe(MESSAGES.endpointNotEnabled(`${TARGET.resourceArn}-other`));
    const wrongSecret = await failureOf(
      client.send(new ExecuteStatementCommand({ ...TARGET, secretArn: `${TARGET.secretArn}-other`, sql: 'SELECT 1' })),
    );
    expect(wrongSecret).toBeInstanceOf(BadRequestException);
    const wrongDatabase = await failureOf(client.send(new ExecuteStatementCommand({ ...TARGET, database: 'postgres', sql: 'SELECT 1' })));
    expect(wrongDatabase).toBeInstanceOf(BadRequestException);
    expect(wrongDatabase.message).toBe('FATAL: database "postgres" does not exist');
  });

  it('answers a path that names no operation with 404 UnknownOperationException', async () => {
    const response = await fetch(`${api.url}/ExecuteEverything`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(404);
    expect(response.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
  });
});

describe('Data API twin: time limits (shortened)', () => {
  let quick: DataApi;
  let quickClient: RDSDataClient;
  beforeAll(async () => {
    quick = await startTwin(database, allowAll(), { statementTimeoutMs: 500, transactionIdleMs: 300 });
    quickClient = new RDSDataClient({ endpoint: quick.url });
  });
  afterAll(async () => {
    quickClient?.destroy();
    await quick?.close();
  });

  it('answers a statement past its timeout with StatementTimeoutException and cancels it in the database', async () => {
    const failure = await failureOf(execute({ sql: `SELECT pg_sleep(30) AS slept, 'twin-timeout-probe' AS tag` }, quickClient));
    expect(failure).toBeInstanceOf(StatementTimeoutException);
    expect((failure as StatementTimeoutException).dbConnectionId).toEqual(expect.any(Number));
    await expectNoActiveStatement('twin-timeout-probe');
  });

  it('lets a statement run on past its timeout with continueAfterTimeout, still answering StatementTimeoutException', async () => {
    await execute({ sql: 'CREATE TABLE continued (n integer)' }, quickClient);
    const failure = await failureOf(
      execute({ sql: 'INSERT INTO continued SELECT 1 FROM pg_sleep(1.5)', continueAfterTimeout: true }, quickClient),
    );
    expect(failure).toBeInstanceOf(StatementTimeoutException);
    await expect
      .poll(async () => (await execute({ sql: 'SELECT count(*) AS n FROM continued' }, quickClient)).records, {
        timeout: 10_000,
        interval: 100,
      })
      .toEqual([[{ longValue: 1 }]]);
  });

  it('ends a transaction at its maximum lifetime even while it is in use', async () => {
    const shortLived = await startTwin(database, allowAll(), { transactionMaxMs: 400 });
    const shortClient = new RDSDataClient({ endpoint: shortLived.url });
    try {
      const id = await begin(shortClient);
      await expect
        .poll(
          async () => {
            const outcome = await execute({ sql: 'SELECT 1 AS one', transactionId: id }, shortClient).then(
              () => 'alive',
              (error: Error) => error.message,
            );
            return outcome;
          },
          { timeout: 10_000, interval: 100 },
        )
        .toBe(MESSAGES.transactionNotFound(id));
    } finally {
      shortClient.destroy();
      await shortLived.close();
    }
  });

  it('rolls back and forgets a transaction left idle past its expiry', async () => {
    await execute({ sql: 'CREATE TABLE tx_idle (name text)' }, quickClient);
    const id = await begin(quickClient);
    await execute({ sql: `INSERT INTO tx_idle VALUES ('abandoned')`, transactionId: id }, quickClient);
    // Wait, without touching the transaction (a call would keep it alive), until no backend holds one open.
    const watcher = new pg.Client({ connectionString: database.url });
    await watcher.connect();
    try {
      await expect
        .poll(
          async () =>
            (await watcher.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'`)).rows[0].n,
          { timeout: 10_000, interval: 100 },
        )
        .toBe(0);
    } finally {
      await watcher.end();
    }
    const failure = await failureOf(execute({ sql: 'SELECT 1', transactionId: id }, quickClient));
    expect(failure).toBeInstanceOf(BadRequestException);
    expect(failure.message).toBe(MESSAGES.transactionNotFound(id));
    expect((await execute({ sql: 'SELECT name FROM tx_idle' }, quickClient)).records).toEqual([]);
  });
});

describe('Data API twin behind the real IAM gate (SigV4 over the body, iam-simulate)', () => {
  const cluster = `arn:aws:rds:us-east-1:${TWIN_ACCOUNT}:cluster:interview-ops`;
  const secret = `arn:aws:secretsmanager:us-east-1:${TWIN_ACCOUNT}:secret:interview-ops-abc123`;
  const target = { resourceArn: cluster, secretArn: secret, database: TARGET.database };
  const role = (name: string, statements: unknown[]) => ({
    [name]: {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }],
        },
      },
    },
    [`${name}DefaultPolicy`]: {
      Type: 'AWS::IAM::Policy',
      Properties: {
        PolicyName: `${name}DefaultPolicy`,
        Roles: [{ Ref: name }],
        PolicyDocument: { Version: '2012-10-17', Statement: statements },
      },
    },
  });
  const template = {
    Resources: {
      ...role('FullRole1111', [
        {
          Action: [
            'rds-data:ExecuteStatement',
            'rds-data:BeginTransaction',
            'rds-data:CommitTransaction',
            'rds-data:RollbackTransaction',
            'rds-data:BatchExecuteStatement',
          ],
          Effect: 'Allow',
          Resource: cluster,
        },
        { Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Effect: 'Allow', Resource: secret },
      ]),
      ...role('NoSecretRole2222', [{ Action: 'rds-data:ExecuteStatement', Effect: 'Allow', Resource: cluster }]),
    },
  };
  let guarded: DataApi;
  const refusals: { action?: string }[] = [];
  const clients: RDSDataClient[] = [];
  const clientFor = (credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) => {
    const made = new RDSDataClient({ endpoint: guarded.url, region: 'us-east-1', credentials });
    clients.push(made);
    return made;
  };

  beforeAll(async () => {
    const realGate = createGate({
      template: templateFromJson(template, { stackName: 'DataApi' }),
      log: (line) => refusals.push(JSON.parse(line)),
    });
    guarded = await startDataApi({
      databaseUrl: database.url,
      gate: realGate,
      clusterArn: cluster,
      secretArn: secret,
      database: TARGET.database,
    });
  });
  afterAll(async () => {
    for (const made of clients) made.destroy();
    await guarded?.close();
  });

  it('serves a role whose policies allow the action on the cluster and GetSecretValue on the secret', async () => {
    const full = clientFor(credentialsOfRole('FullRole1111'));
    const output = await full.send(
      new ExecuteStatementCommand({
        ...target,
        sql: 'SELECT CAST(:n AS integer) AS n',
        parameters: [{ name: 'n', value: { longValue: 5 } }],
      }),
    );
    expect(output.records).toEqual([[{ longValue: 5 }]]);
    const { transactionId } = await full.send(new BeginTransactionCommand(target));
    await full.send(new RollbackTransactionCommand({ resourceArn: cluster, secretArn: secret, transactionId: transactionId! }));
    expect(guarded.calls()).toBe(3);
  });

  it('refuses with AccessDeniedException a role that may not read the secret', async () => {
    const failure = await failureOf(
      clientFor(credentialsOfRole('NoSecretRole2222')).send(new ExecuteStatementCommand({ ...target, sql: 'SELECT 1' })),
    );
    expect(failure).toBeInstanceOf(AccessDeniedException);
    expect(failure.$metadata?.httpStatusCode).toBe(403);
    expect(failure.message).toContain('secretsmanager:GetSecretValue');
  });

  it('refuses a request signed with the wrong secret key', async () => {
    const good = credentialsOfRole('FullRole1111');
    const failure = await failureOf(
      clientFor({ ...good, secretAccessKey: `${good.secretAccessKey.slice(0, -1)}${good.secretAccessKey.endsWith('X') ? 'Y' : 'X'}` }).send(
        new ExecuteStatementCommand({ ...target, sql: 'SELECT 1' }),
      ),
    );
    expect(failure.name).toBe('InvalidSignatureException');
    expect(failure.$metadata?.httpStatusCode).toBe(403);
  });
});
