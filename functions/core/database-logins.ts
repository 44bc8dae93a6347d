/**
 * The two PostgreSQL logins the functions use instead of the master user: `app` may run the DML the
 * functions run (SELECT, INSERT, UPDATE, DELETE, sequences), `reader` may only SELECT. The migrator
 * provisions them after each migration run, so tables and sequences a later migration adds are granted
 * too. Passwords are sent as SCRAM-SHA-256 verifiers, so the clear text never reaches the server or its logs.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { MIGRATION_LOCK_KEY, MIGRATIONS_TABLE } from './migrations';
import type { Sql, SqlRunner } from './ports/sql';

export interface LoginCredentials {
  username: string;
  password: string;
}

export interface DatabaseLogins {
  app: LoginCredentials;
  reader: LoginCredentials;
}

/** Plain lower-case names only, so the quoted identifier is exactly the name. */
const USERNAME = /^[a-z_][a-z0-9_]{0,62}$/;

const identifier = (username: string) => {
  if (!USERNAME.test(username)) throw new Error(`database login name ${JSON.stringify(username)}: lower-case letters, digits and _ only`);
  return `"${username}"`;
};

const SCRAM_ITERATIONS = 4096;

/** PostgreSQL's stored form of a SCRAM-SHA-256 password (RFC 5803), as `ALTER ROLE ... PASSWORD` accepts it. */
export const scramVerifier = (password: string, salt: Buffer = randomBytes(16)): string => {
  if (!/^[\x21-\x7e]{12,}$/.test(password)) throw new Error('a database login password: at least 12 printable ASCII characters');
  const salted = pbkdf2Sync(password, salt, SCRAM_ITERATIONS, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${SCRAM_ITERATIONS}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
};

const upsertLogin = async (tx: SqlRunner, login: LoginCredentials) => {
  const name = identifier(login.username);
  const [exists] = await tx.query('SELECT 1 AS found FROM pg_roles WHERE rolname = :name', { name: login.username });
  // The verifier is base64 and $ : only, so it needs no escaping inside the quotes; utility statements take no parameters.
  const verb = exists ? 'ALTER' : 'CREATE';
  await tx.query(`${verb} ROLE ${name} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '${scramVerifier(login.password)}'`);
  return name;
};

/** Creates or updates both logins and grants them every table and sequence there is now; run after migrating. */
export const provisionLogins = async (sql: Sql, logins: DatabaseLogins): Promise<void> => {
  await sql.transaction(async (tx) => {
    // The migrations' lock: two deploys at once provision one after the other.
    await tx.query('SELECT pg_advisory_xact_lock(:key)', { key: MIGRATION_LOCK_KEY });
    const app = await upsertLogin(tx, logins.app);
    // A reader's every transaction is read-only, even one that forgets to say so.
    const reader = await upsertLogin(tx, logins.reader);
    await tx.query(`ALTER ROLE ${reader} SET default_transaction_read_only = on`);
    // No login but the owner creates objects anywhere (PostgreSQL 15 and later already refuse PUBLIC this).
    await tx.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
    await tx.query(`GRANT USAGE ON SCHEMA public TO ${app}, ${reader}`);
    await tx.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${app}`);
    await tx.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${app}`);
    await tx.query(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${reader}`);
    // The migration ledger is the migrator's alone.
    await tx.query(`REVOKE ALL ON ${MIGRATIONS_TABLE} FROM ${app}, ${reader}`);
  });
};
