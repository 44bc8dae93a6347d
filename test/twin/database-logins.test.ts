/**
 * The database logins as the twin runs what ships: each function's role reaches the Data API with its
 * own login's secret and nothing else, a read route's login cannot write, the app login cannot change
 * the schema, and a route waits out a cluster resuming from 0 ACU instead of failing.
 */
import { DatabaseErrorException, ExecuteStatementCommand, RDSDataClient } from '@aws-sdk/client-rds-data';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { constructIdOf } from '../../lib/interview-ops-stack';
import { credentialsOfRole } from '../../twin/identity';
import type { TwinFunction } from '../../twin/template';
import { startTwinTarget, type TwinTarget } from '../support/twin-target';

let target: TwinTarget;

beforeAll(async () => {
  target = await startTwinTarget();
}, 300_000);

afterAll(() => target?.stop());

const functionOf = (handler: string): TwinFunction => {
  const prefix = `${constructIdOf(handler)}Function`;
  const [fn] = Object.values(target.twin.template.functions()).filter(
    (candidate) => candidate.logicalId.startsWith(prefix) && /^[0-9A-F]{8}$/.test(candidate.logicalId.slice(prefix.length)),
  );
  if (!fn) throw new Error(`no function for ${handler}`);
  return fn;
};

/** The Data API as a handler's function calls it: its role's keys, its environment's cluster and secret. */
const dataApiAs = (handler: string, secretArn = functionOf(handler).environment.DB_SECRET_ARN!) => {
  const fn = functionOf(handler);
  const client = new RDSDataClient({
    region: target.twin.region,
    endpoint: target.twin.dataApi.url,
    credentials: credentialsOfRole(fn.roleLogicalId!),
  });
  const resourceArn = functionOf('create-session').environment.DB_CLUSTER_ARN!;
  return (sql: string) => client.send(new ExecuteStatementCommand({ resourceArn, secretArn, database: 'interview_ops', sql }));
};

const secretsAs = (handler: string) =>
  new SecretsManagerClient({
    region: target.twin.region,
    endpoint: target.twin.secretsManager.url,
    credentials: credentialsOfRole(functionOf(handler).roleLogicalId!),
  });

const appSecret = () => functionOf('create-session').environment.DB_SECRET_ARN!;
const masterSecret = () => functionOf('migrate-database').environment.DB_SECRET_ARN!;

describe('database logins on the twin', () => {
  it('lets a read route read but never write', async () => {
    const reader = dataApiAs('get-session');
    expect((await reader('SELECT count(*) AS n FROM sessions')).records).toHaveLength(1);
    const refused = await reader(`INSERT INTO sessions (session_id) VALUES ('twin-reader-write')`).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DatabaseErrorException);
    expect((refused as Error).message).toMatch(/read-only transaction|permission denied/);
    expect((await target.request('GET', '/sessions/twin-reader-write')).status).toBe(404);
  });

  it('lets the app login write rows but not change the schema', async () => {
    const app = dataApiAs('create-session');
    await app(`INSERT INTO sessions (session_id) VALUES ('twin-app-write')`);
    expect((await target.request('GET', '/sessions/twin-app-write')).status).toBe(200);
    await expect(app('DROP TABLE execution_results')).rejects.toThrow(/must be owner/);
    await expect(app('CREATE TABLE intruder (id int)')).rejects.toThrow(/permission denied/);
  });

  it("refuses a function another login's secret, and every function but the migrator the master's", async () => {
    await expect(dataApiAs('get-session', appSecret())('SELECT 1')).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await expect(dataApiAs('create-session', masterSecret())('SELECT 1')).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await expect(dataApiAs('health-deep', masterSecret())('SELECT 1')).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await expect(secretsAs('take-scheduled-snapshot').send(new GetSecretValueCommand({ SecretId: masterSecret() }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    // The migrator reads the logins' secrets to set their passwords.
    const value = await secretsAs('migrate-database').send(new GetSecretValueCommand({ SecretId: appSecret() }));
    expect(JSON.parse(value.SecretString!)).toMatchObject({ username: 'interview_ops_app', password: expect.any(String) });
  });

  it('gives the functions that need no database no secret to name', () => {
    expect(functionOf('health').environment.DB_SECRET_ARN).toBeUndefined();
    expect(functionOf('get-openapi').environment.DB_SECRET_ARN).toBeUndefined();
  });

  it('answers a route while the cluster resumes from 0 ACU, once it has woken', async () => {
    const before = target.twin.dataApi.calls();
    target.twin.dataApi.setResuming(true);
    try {
      const answer = target.request('GET', '/sessions/twin-resume-probe');
      // Let the function meet the paused cluster twice before it wakes.
      while (target.twin.dataApi.calls() < before + 2) await new Promise((resolve) => setTimeout(resolve, 50));
      target.twin.dataApi.setResuming(false);
      const response = await answer;
      expect(response.status).toBe(404);
      expect(target.twin.dataApi.calls()).toBeGreaterThanOrEqual(before + 3);
    } finally {
      target.twin.dataApi.setResuming(false);
    }
  });
});
