/**
 * The RDS Data API, played on this machine over a real PostgreSQL: an HTTP server speaking the service's
 * restJson1 protocol (POST /Execute, /BeginTransaction, /CommitTransaction, /RollbackTransaction,
 * /BatchExecute), so `new RDSDataClient({})` with AWS_ENDPOINT_URL_RDS_DATA pointing here works
 * unchanged (the SDK's serviceId is "RDS Data", and @smithy/core/endpoints reads
 * AWS_ENDPOINT_URL_<SERVICE ID IN UPPER CASE, SPACES AS _>, then AWS_ENDPOINT_URL).
 *
 * What it holds to, as AWS documents it (the @aws-sdk/client-rds-data doc comments and the Aurora
 * User Guide's Data API pages):
 * - every call is authorized by the Gate (rds-data:<Action> on the cluster, secretsmanager:GetSecretValue
 *   on the secret), and refused with 403 AccessDeniedException;
 * - a response over 1 MiB and a row over 64 KB are refused with BadRequestException. Both are measured on
 *   the JSON this server would send, the stricter reading of "If the call returns more than 1 MiB of
 *   response data, the call is terminated" (BatchExecuteStatementCommand.d.ts): what passes here passes there;
 * - a request over 4 MiB (body and headers) is refused before anything runs;
 * - a statement is given 45 s, then cancelled (unless continueAfterTimeout) and answered with
 *   StatementTimeoutException;
 * - a transaction lives on its own connection and expires after 3 minutes without a call, rolled back;
 *   an error inside it (SQL error, timeout, size refusal) ends it too, as the troubleshooting page lists
 *   ("Transaction has been aborted due to an error from a previous call");
 * - SQL errors are DatabaseErrorException with PostgreSQL's message in the form the service gives it
 *   ("ERROR: ...\n  Detail: ...; SQLState: 23505");
 * - setResuming(true) answers every call with DatabaseResumingException, as a cluster waking from 0 ACU;
 * - each call runs as the PostgreSQL user of the secret secretArn names, logged in with its password
 *   (`loginOf`, from the twin's Secrets Manager), so a function has the privileges of its own login.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type {
  BatchExecuteStatementRequest,
  BeginTransactionRequest,
  CommitTransactionRequest,
  ExecuteStatementRequest,
  ExecuteStatementResponse,
  Field,
  RollbackTransactionRequest,
} from '@aws-sdk/client-rds-data';
import pg from 'pg';
import type { Check, Gate, GateAnswer, SignedRequest } from '../iam/gate';
import { listenOnLoopback } from '../listen';
import { DataApiError, type DataApiErrorName, MESSAGES } from './errors';
import { bindParameters, type ColumnSource, columnMetadata, type ResultOptions, toField, toJsonValue } from './values';

export type { Check, Gate, GateAnswer, SignedRequest };

export interface DataApiLimits {
  /** Largest response body, in bytes (1 MiB). */
  responseBytes: number;
  /** Largest row, in bytes of its JSON (64 KB). */
  rowBytes: number;
  /** Largest request, body and headers, in bytes (4 MiB). */
  requestBytes: number;
  /** Time a statement may run (45 s). */
  statementTimeoutMs: number;
  /** Time a transaction may go without a call before it is rolled back and forgotten (3 minutes). */
  transactionIdleMs: number;
  /** Time a transaction may live at all (24 hours, BeginTransactionCommand.d.ts). */
  transactionMaxMs: number;
}

export const DEFAULT_LIMITS: DataApiLimits = {
  responseBytes: 1024 * 1024,
  rowBytes: 64 * 1024,
  requestBytes: 4 * 1024 * 1024,
  statementTimeoutMs: 45_000,
  transactionIdleMs: 3 * 60_000,
  transactionMaxMs: 24 * 60 * 60_000,
};

export interface DatabaseLogin {
  username: string;
  password: string;
}

export interface DataApiOptions {
  /**
   * PostgreSQL connection string; the database in it is the one `database` names. Its user cancels
   * timed-out statements, and runs the calls when no `loginOf` is given.
   */
  databaseUrl: string;
  gate: Gate;
  clusterArn: string;
  /** The one secret calls may name when no `loginOf` is given. */
  secretArn: string;
  /** The login a secret holds, or undefined when there is no such secret: calls then run as that user. */
  loginOf?: (secretArn: string) => DatabaseLogin | undefined;
  database: string;
  limits?: Partial<DataApiLimits>;
  /** Loopback port to listen on; 0 (default) picks a free one. */
  port?: number;
}

export interface DataApi {
  url: string;
  close(): Promise<void>;
  /** Calls the Gate allowed, of every operation. */
  calls(): number;
  /** While on, every call is answered with DatabaseResumingException. */
  setResuming(on: boolean): void;
}

type Operation =
  | 'ExecuteStatement'
  | 'BeginTransaction'
  | 'CommitTransaction'
  | 'RollbackTransaction'
  | 'BatchExecuteStatement'
  | 'ExecuteSql';

/** The operations' HTTP bindings, from the Smithy model in @aws-sdk/client-rds-data (all POST). */
const ROUTES: Record<string, Operation> = {
  '/Execute': 'ExecuteStatement',
  '/BeginTransaction': 'BeginTransaction',
  '/CommitTransaction': 'CommitTransaction',
  '/RollbackTransaction': 'RollbackTransaction',
  '/BatchExecute': 'BatchExecuteStatement',
  '/ExecuteSql': 'ExecuteSql',
};

interface PooledState {
  cancelled: boolean;
  command: string;
}

/** Statements whose effect outlives them on the connection; the connection is closed after one. */
const SESSION_COMMANDS = /^(SET|RESET|BEGIN|START|LISTEN|PREPARE|DECLARE|LOCK)\b/;

interface Transaction {
  id: string;
  client: pg.Client;
  pid: number;
  busy: number;
  idleTimer?: NodeJS.Timeout;
  lifeTimer?: NodeJS.Timeout;
}

/** Type names for the OIDs every result uses; others are read from pg_type once. */
const KNOWN_TYPE_NAMES: Record<number, string> = {
  16: 'bool',
  17: 'bytea',
  18: 'char',
  19: 'name',
  20: 'int8',
  21: 'int2',
  23: 'int4',
  25: 'text',
  26: 'oid',
  114: 'json',
  700: 'float4',
  701: 'float8',
  1042: 'bpchar',
  1043: 'varchar',
  1082: 'date',
  1083: 'time',
  1114: 'timestamp',
  1184: 'timestamptz',
  1186: 'interval',
  1266: 'timetz',
  1700: 'numeric',
  2950: 'uuid',
  3802: 'jsonb',
  1000: '_bool',
  1005: '_int2',
  1007: '_int4',
  1016: '_int8',
  1009: '_text',
  1015: '_varchar',
  1021: '_float4',
  1022: '_float8',
};

/** Every column arrives as PostgreSQL's text; values.ts types it. */
const rawText = (value: string) => value;
const RAW_TYPES = { getTypeParser: () => rawText };

const SESSION_OPTIONS = '-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=postgres';

export const startDataApi = async (options: DataApiOptions): Promise<DataApi> => {
  const limits: DataApiLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const pools = new Map<string, pg.Pool>();
  /** One pool per login (connection string). */
  const poolFor = (connectionString: string) => {
    let pool = pools.get(connectionString);
    if (!pool) {
      pool = new pg.Pool({ connectionString, options: SESSION_OPTIONS, max: 10, types: RAW_TYPES });
      // An idle pooled connection that the server drops must not crash the process.
      pool.on('error', () => undefined);
      pools.set(connectionString, pool);
    }
    return pool;
  };
  /** The connection string of the secret's login; undefined when the secret is unknown. */
  const connectionFor = (secretArn: string): string | undefined => {
    if (!options.loginOf) return secretArn === options.secretArn ? options.databaseUrl : undefined;
    const login = options.loginOf(secretArn);
    if (!login) return undefined;
    const url = new URL(options.databaseUrl);
    url.username = encodeURIComponent(login.username);
    url.password = encodeURIComponent(login.password);
    return url.toString();
  };
  const transactions = new Map<string, Transaction>();
  const typeNames = new Map<number, string>(Object.entries(KNOWN_TYPE_NAMES).map(([oid, name]) => [Number(oid), name]));
  const tableColumns = new Map<number, Map<number, ColumnSource & { name: string }>>();
  let callCount = 0;
  let resuming = false;
  const clusterName = options.clusterArn.split(':').at(-1) ?? options.clusterArn;

  // ------------------------------------------------------------------------------- transactions

  const armIdleTimer = (tx: Transaction) => {
    clearTimeout(tx.idleTimer);
    if (tx.busy > 0) return;
    tx.idleTimer = setTimeout(() => void endTransaction(tx, 'ROLLBACK').catch(() => undefined), limits.transactionIdleMs);
    tx.idleTimer.unref();
  };

  /** Forgets the transaction at once (later calls find no such id), then ends it on its connection. */
  const endTransaction = async (tx: Transaction, command: 'COMMIT' | 'ROLLBACK') => {
    if (transactions.get(tx.id) !== tx) return;
    transactions.delete(tx.id);
    clearTimeout(tx.idleTimer);
    clearTimeout(tx.lifeTimer);
    try {
      await tx.client.query(command);
    } finally {
      await tx.client.end().catch(() => undefined);
    }
  };

  /** Runs work against a known transaction, holding its idle timer while it runs. */
  const withTransaction = async <T>(id: string, work: (tx: Transaction) => Promise<T>): Promise<T> => {
    const tx = transactions.get(id);
    if (!tx) throw new DataApiError('BadRequestException', MESSAGES.transactionNotFound(id));
    tx.busy++;
    clearTimeout(tx.idleTimer);
    try {
      return await work(tx);
    } catch (error) {
      // An error ends the transaction (rolled back), except one refused before it reached the database.
      if (error instanceof DataApiError && error.extra.endsTransaction) await endTransaction(tx, 'ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      tx.busy--;
      if (transactions.get(tx.id) === tx) armIdleTimer(tx);
    }
  };

  // ---------------------------------------------------------------------------------- statements

  /** Cancels what a backend runs, from a connection of its own (the pool may be full of long statements). */
  const cancel = async (pid: number) => {
    const canceller = new pg.Client({ connectionString: options.databaseUrl });
    canceller.on('error', () => undefined);
    try {
      await canceller.connect();
      await canceller.query('SELECT pg_cancel_backend($1)', [pid]);
    } catch {
      // the statement is over or the server is gone: nothing to cancel
    } finally {
      await canceller.end().catch(() => undefined);
    }
  };

  /**
   * One statement on one connection, within the statement timeout, rows handed to `onRow` as they
   * arrive (pg keeps none when a 'row' listener is set, so a refused result is never held whole). If
   * `onRow` throws (a size limit), or the timeout passes, the backend is cancelled and the call fails
   * with that error; a timeout with continueAfterTimeout leaves the statement running. `cancelled` is
   * set when a cancel was sent: the connection may then see it late and must not be reused.
   */
  const runOnConnection = (
    client: pg.ClientBase,
    pid: number,
    bound: { text: string; values: unknown[]; types: number[] },
    continueAfterTimeout: boolean,
    onRow: (row: (string | null)[], fields: pg.FieldDef[]) => void,
    state: { cancelled: boolean } = { cancelled: false },
  ): Promise<{ command: string; rowCount: number; fields: pg.FieldDef[] }> =>
    new Promise((resolve, reject) => {
      let failure: DataApiError | undefined;
      let settled = false;
      const fail = (error: DataApiError, cancelIt: boolean) => {
        if (failure) return;
        failure = error;
        if (cancelIt) {
          state.cancelled = true;
          void cancel(pid);
        }
        finish();
      };
      const finish = (result?: { command: string; rowCount: number; fields: pg.FieldDef[] }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (failure) reject(failure);
        else resolve(result!);
      };
      const timer = setTimeout(() => {
        fail(
          new DataApiError('StatementTimeoutException', MESSAGES.STATEMENT_TIMEOUT, {
            dbConnectionId: pid,
            endsTransaction: !continueAfterTimeout,
          }),
          !continueAfterTimeout,
        );
      }, limits.statementTimeoutMs);
      // pg sends Query.types as the Parse message's parameter types and asks the same object for row
      // parsers (pg/lib/query.js prepare(), pg/lib/result.js): an array of OIDs that also has getTypeParser.
      const types = Object.assign([...bound.types], RAW_TYPES);
      const query = new pg.Query({ text: bound.text, values: bound.values, rowMode: 'array', types } as unknown as pg.QueryConfig);
      let fields: pg.FieldDef[] = [];
      query.on('row', (row: (string | null)[], result?: pg.ResultBuilder) => {
        if (failure) return;
        fields = result?.fields ?? fields;
        try {
          onRow(row, fields);
        } catch (error) {
          fail(toDataApiError(error), true);
        }
      });
      query.on('error', (error: Error) => {
        fail(toDataApiError(error), false);
      });
      query.on('end', (result: pg.ResultBuilder) => {
        finish({ command: result.command ?? '', rowCount: result.rowCount ?? 0, fields: result.fields ?? fields });
      });
      client.query(query);
    });

  const namesOf = async (client: pg.ClientBase, oids: number[]) => {
    const unknown = [...new Set(oids.filter((oid) => !typeNames.has(oid)))];
    if (unknown.length > 0) {
      const { rows } = await client.query<{ oid: string; typname: string }>('SELECT oid, typname FROM pg_type WHERE oid = ANY($1::oid[])', [
        unknown,
      ]);
      for (const row of rows) typeNames.set(Number(row.oid), row.typname);
    }
    return oids.map((oid) => typeNames.get(oid) ?? 'unknown');
  };

  const sourcesOf = async (client: pg.ClientBase, fields: pg.FieldDef[]) => {
    const tables = [...new Set(fields.map((field) => field.tableID).filter((id) => id !== 0 && !tableColumns.has(id)))];
    if (tables.length > 0) {
      // Connections parse nothing (RAW_TYPES): every value here is PostgreSQL's text.
      const { rows } = await client.query<{
        relid: string;
        attnum: string;
        attname: string;
        relname: string;
        nspname: string;
        attnotnull: string;
        auto: string;
      }>(
        `SELECT c.oid AS relid, a.attnum, a.attname, c.relname, n.nspname, a.attnotnull,
                (a.attidentity <> '' OR coalesce(pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%', false)) AS auto
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid
           LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
          WHERE c.oid = ANY($1::oid[]) AND a.attnum > 0`,
        [tables],
      );
      for (const id of tables) tableColumns.set(id, new Map());
      for (const row of rows) {
        tableColumns.get(Number(row.relid))?.set(Number(row.attnum), {
          name: row.attname,
          tableName: row.relname,
          schemaName: row.nspname,
          notNull: row.attnotnull === 't',
          autoIncrement: row.auto === 't',
        });
      }
    }
    return fields.map((field) => tableColumns.get(field.tableID)?.get(field.columnID));
  };

  const executeOn = async (
    client: pg.ClientBase,
    pid: number,
    input: ExecuteStatementRequest,
    state?: { cancelled: boolean },
  ): Promise<ExecuteStatementResponse & { command: string }> => {
    const bound = bindParameters(input.sql ?? '', input.parameters);
    const resultOptions: ResultOptions = input.resultSetOptions ?? {};
    const asJson = input.formatRecordsAs === 'JSON';
    const records: unknown[] = [];
    let total = 0;
    const onRow = (row: (string | null)[], fields: pg.FieldDef[]) => {
      let record: unknown;
      if (asJson) {
        const object: Record<string, unknown> = {};
        row.forEach((text, index) => {
          object[fields[index]!.name] = toJsonValue(text, fields[index]!.dataTypeID, resultOptions);
        });
        record = object;
      } else {
        record = row.map((text, index) => toField(text, fields[index]!.dataTypeID, resultOptions));
      }
      const bytes = Buffer.byteLength(wire(record));
      if (bytes > limits.rowBytes) throw new DataApiError('BadRequestException', MESSAGES.ROW_TOO_LARGE, { endsTransaction: true });
      total += bytes;
      if (total > limits.responseBytes)
        throw new DataApiError('BadRequestException', MESSAGES.RESPONSE_TOO_LARGE, { endsTransaction: true });
      records.push(record);
    };
    const result = await runOnConnection(client, pid, bound, input.continueAfterTimeout === true, onRow, state);
    const { command, fields } = result;
    if (/^(CREATE|ALTER|DROP)/.test(command)) tableColumns.clear();
    if (fields.length === 0) return { command, numberOfRecordsUpdated: result.rowCount, generatedFields: [] };
    if (asJson) return { command, formattedRecords: JSON.stringify(records), numberOfRecordsUpdated: 0 };
    const response: ExecuteStatementResponse & { command: string } = { command, records: records as Field[][], numberOfRecordsUpdated: 0 };
    if (input.includeResultMetadata) {
      const oids = fields.map((field) => field.dataTypeID);
      const [names, sources] = [await namesOf(client, oids), await sourcesOf(client, fields)];
      response.columnMetadata = fields.map((field, index) => columnMetadata(field, names[index]!, sources[index]));
    }
    return response;
  };

  const pids = new WeakMap<pg.ClientBase, number>();
  /** Backends of pooled connections in use, cancelled on close (a continueAfterTimeout statement may still run). */
  const busyPids = new Set<number>();

  /**
   * A pooled connection for a call outside a transaction. It goes back to the pool once its statement
   * has really ended (continueAfterTimeout leaves one running), and is closed instead when a cancel was
   * sent to it, or when the call left session state behind (BEGIN, SET...): every call starts clean.
   */
  const withPooled = async <T>(connection: string, work: (client: pg.PoolClient, pid: number, state: PooledState) => Promise<T>) => {
    const client = await poolFor(connection)
      .connect()
      .catch((error: unknown) => {
        throw toDataApiError(error);
      });
    const state: PooledState = { cancelled: false, command: '' };
    let pid: number | undefined;
    try {
      pid = pids.get(client);
      if (pid === undefined) {
        pid = await backendPid(client);
        pids.set(client, pid);
      }
      busyPids.add(pid);
      return await work(client, pid, state);
    } finally {
      void client
        .query('SELECT 1')
        .then(
          () => client.release(state.cancelled || client.getTransactionStatus() !== 'I' || SESSION_COMMANDS.test(state.command)),
          (error: Error) => client.release(error),
        )
        .finally(() => pid !== undefined && busyPids.delete(pid));
    }
  };

  const executeStatement = async (connection: string, input: ExecuteStatementRequest): Promise<ExecuteStatementResponse> => {
    if (!input.sql) throw new DataApiError('BadRequestException', 'sql is required');
    if (input.transactionId) {
      const { command: _command, ...response } = await withTransaction(input.transactionId, (tx) => executeOn(tx.client, tx.pid, input));
      return response;
    }
    return withPooled(connection, async (client, pid, state) => {
      const { command, ...response } = await executeOn(client, pid, input, state);
      state.command = command;
      return response;
    });
  };

  const batchExecute = async (connection: string, input: BatchExecuteStatementRequest) => {
    if (!input.sql) throw new DataApiError('BadRequestException', 'sql is required');
    const sets = input.parameterSets ?? [];
    const ignoreRows = () => undefined;
    const runAll = async (client: pg.ClientBase, pid: number, state?: PooledState) => {
      for (const parameters of sets) await runOnConnection(client, pid, bindParameters(input.sql!, parameters), false, ignoreRows, state);
      return { updateResults: sets.map(() => ({ generatedFields: [] })) };
    };
    if (input.transactionId) return withTransaction(input.transactionId, (tx) => runAll(tx.client, tx.pid));
    // Without a transaction the whole batch commits or fails together, as one JDBC batch in autocommit does.
    return withPooled(connection, async (client, pid, state) => {
      await client.query('BEGIN');
      try {
        const result = await runAll(client, pid, state);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  };

  const beginTransaction = async (connection: string, _input: BeginTransactionRequest) => {
    const client = new pg.Client({ connectionString: connection, options: SESSION_OPTIONS, types: RAW_TYPES });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const pid = await backendPid(client);
      await client.query('BEGIN');
      // Opaque, about the length of the service's ids (184 characters of base64).
      const tx: Transaction = { id: randomBytes(138).toString('base64'), client, pid, busy: 0 };
      transactions.set(tx.id, tx);
      armIdleTimer(tx);
      tx.lifeTimer = setTimeout(() => void endTransaction(tx, 'ROLLBACK').catch(() => undefined), limits.transactionMaxMs);
      tx.lifeTimer.unref();
      return { transactionId: tx.id };
    } catch (error) {
      await client.end().catch(() => undefined);
      throw toDataApiError(error);
    }
  };

  const finishTransaction = async (id: string | undefined, command: 'COMMIT' | 'ROLLBACK') => {
    if (!id) throw new DataApiError('BadRequestException', 'transactionId is required');
    const tx = transactions.get(id);
    if (!tx) throw new DataApiError('BadRequestException', MESSAGES.transactionNotFound(id));
    try {
      await endTransaction(tx, command);
    } catch (error) {
      throw toDataApiError(error);
    }
    return { transactionStatus: command === 'COMMIT' ? 'Transaction Committed' : 'Rollback Complete' };
  };

  // ------------------------------------------------------------------------------------- HTTP

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const requestId = randomUUID();
    try {
      const url = new URL(request.url ?? '/', 'http://twin');
      const operation = request.method === 'POST' ? ROUTES[url.pathname] : undefined;
      if (!operation) {
        await drain(request);
        throw new DataApiError('UnknownOperationException', `No operation for ${request.method} ${url.pathname}`);
      }
      const body = await readBody(request, limits.requestBytes);
      const input = parseInput(body);
      const resourceArn = String(input.resourceArn ?? input.dbClusterOrInstanceArn ?? '');
      const secretArn = String(input.secretArn ?? input.awsSecretStoreArn ?? '');
      if (!resourceArn) throw new DataApiError('BadRequestException', 'resourceArn is required');
      if (!secretArn) throw new DataApiError('BadRequestException', 'secretArn is required');

      // The SDK signs the body's hash without sending it (no x-amz-content-sha256): the Gate hashes the body.
      const raw = request.url ?? '/';
      const queryAt = raw.indexOf('?');
      const signed: SignedRequest = {
        method: request.method ?? 'POST',
        path: queryAt < 0 ? raw : raw.slice(0, queryAt),
        query: queryAt < 0 ? '' : raw.slice(queryAt + 1),
        headers: request.headers,
        body,
      };
      const answer = await options.gate.authorize('rds-data', signed, [
        { action: `rds-data:${operation}`, resource: resourceArn },
        { action: 'secretsmanager:GetSecretValue', resource: secretArn },
      ]);
      if (!answer.allowed) throw new DataApiError(answer.code === 'AccessDenied' ? 'AccessDeniedException' : answer.code, answer.message);
      callCount++;

      if (resourceArn !== options.clusterArn) throw new DataApiError('BadRequestException', MESSAGES.endpointNotEnabled(resourceArn));
      const connection = connectionFor(secretArn);
      if (!connection) throw new DataApiError('BadRequestException', MESSAGES.secretNotFound(secretArn));
      if (resuming) throw new DataApiError('DatabaseResumingException', MESSAGES.resuming(clusterName));
      if (typeof input.database === 'string' && input.database !== '' && input.database !== options.database) {
        throw new DataApiError('BadRequestException', MESSAGES.databaseNotFound(input.database));
      }

      let output: unknown;
      switch (operation) {
        case 'ExecuteStatement':
          output = await executeStatement(connection, input as unknown as ExecuteStatementRequest);
          break;
        case 'BatchExecuteStatement':
          output = await batchExecute(connection, input as unknown as BatchExecuteStatementRequest);
          break;
        case 'BeginTransaction':
          output = await beginTransaction(connection, input as unknown as BeginTransactionRequest);
          break;
        case 'CommitTransaction':
          output = await finishTransaction((input as unknown as CommitTransactionRequest).transactionId, 'COMMIT');
          break;
        case 'RollbackTransaction':
          output = await finishTransaction((input as unknown as RollbackTransactionRequest).transactionId, 'ROLLBACK');
          break;
        case 'ExecuteSql':
          throw new DataApiError('BadRequestException', MESSAGES.EXECUTE_SQL_DEPRECATED);
      }
      const text = wire(output);
      if (Buffer.byteLength(text) > limits.responseBytes) throw new DataApiError('BadRequestException', MESSAGES.RESPONSE_TOO_LARGE);
      send(response, 200, text, { 'x-amzn-requestid': requestId });
    } catch (error) {
      const failure = error instanceof DataApiError ? error : toDataApiError(error);
      const { endsTransaction: _internal, ...extra } = failure.extra;
      send(response, failure.status, JSON.stringify({ message: failure.message, ...extra }), {
        'x-amzn-requestid': requestId,
        'x-amzn-errortype': failure.type,
      });
    }
  };

  const server = createServer((request, response) => void handle(request, response));
  const url = await listenOnLoopback(server, options.port);

  return {
    url,
    calls: () => callCount,
    setResuming(on: boolean) {
      resuming = on;
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      const running = [...busyPids, ...[...transactions.values()].filter((tx) => tx.busy > 0).map((tx) => tx.pid)];
      await Promise.all(running.map((pid) => cancel(pid)));
      await Promise.all([...transactions.values()].map((tx) => endTransaction(tx, 'ROLLBACK').catch(() => undefined)));
      await Promise.all([...pools.values()].map((pool) => pool.end().catch(() => undefined)));
    },
  };
};

// ------------------------------------------------------------------------------------------ helpers

const backendPid = async (client: pg.ClientBase): Promise<number> => {
  const { rows } = await client.query<{ pid: string }>('SELECT pg_backend_pid() AS pid');
  return Number(rows[0]!.pid);
};

/** JSON for the wire: byte arrays (blobValue) as base64, as restJson1 carries blobs. */
export const wire = (value: unknown): string =>
  JSON.stringify(value, (_key, item: unknown) => {
    const buffer = item as { type?: string; data?: number[] } | null;
    return buffer && typeof buffer === 'object' && buffer.type === 'Buffer' && Array.isArray(buffer.data)
      ? Buffer.from(buffer.data).toString('base64')
      : item;
  });

const send = (response: ServerResponse, status: number, body: string, headers: Record<string, string>) => {
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  response.end(body);
};

const drain = (request: IncomingMessage) =>
  new Promise<void>((resolve) => {
    request.resume();
    request.on('end', resolve);
    request.on('error', () => resolve());
  });

/** The body, refused past the request limit, which AWS counts with the headers. */
const readBody = async (request: IncomingMessage, limit: number): Promise<Buffer> => {
  const headerBytes = request.rawHeaders.reduce((sum, part) => sum + Buffer.byteLength(part) + 2, 0);
  const declared = Number(request.headers['content-length'] ?? 0);
  if (headerBytes + declared > limit) {
    await drain(request);
    throw new DataApiError('BadRequestException', MESSAGES.REQUEST_TOO_LARGE);
  }
  const chunks: Buffer[] = [];
  let size = headerBytes;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      await drain(request);
      throw new DataApiError('BadRequestException', MESSAGES.REQUEST_TOO_LARGE);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
};

const parseInput = (body: Buffer): Record<string, unknown> => {
  if (body.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new DataApiError('BadRequestException', 'The request body is not a JSON object');
};

interface PgError {
  severity?: string;
  code?: string;
  message: string;
  detail?: string;
  hint?: string;
  position?: string;
  where?: string;
}

/**
 * A PostgreSQL error as the Data API reports it: PgJDBC's ServerErrorMessage text and the SQLState,
 * e.g. "ERROR: duplicate key value violates unique constraint \"t_pkey\"\n  Detail: Key (id)=(1) already
 * exists.; SQLState: 23505" (as quoted from the live service in cloud-utils/aurora-data-api#53 and
 * cloud-utils/sqlalchemy-aurora-data-api#46).
 */
export const toDataApiError = (error: unknown): DataApiError => {
  if (error instanceof DataApiError) return error;
  const pgError = error as PgError;
  if (pgError && typeof pgError === 'object' && pgError.severity && pgError.code) {
    const text = [
      `${pgError.severity}: ${pgError.message}`,
      pgError.detail ? `\n  Detail: ${pgError.detail}` : '',
      pgError.hint ? `\n  Hint: ${pgError.hint}` : '',
      pgError.position ? `\n  Position: ${pgError.position}` : '',
      pgError.where ? `\n  Where: ${pgError.where}` : '',
      `; SQLState: ${pgError.code}`,
    ].join('');
    return new DataApiError('DatabaseErrorException', text, { endsTransaction: true });
  }
  const code = (error as { code?: string } | null)?.code;
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === '57P01') {
    return new DataApiError('DatabaseUnavailableException', "The writer instance in the DB cluster isn't available.", {
      endsTransaction: true,
    });
  }
  return new DataApiError('InternalServerErrorException', 'An internal error occurred.', { endsTransaction: true });
};

export type { DataApiErrorName };
