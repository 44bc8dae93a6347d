/**
 * The synthesized stack deployed as CloudFormation deploys it (twin/deploy.ts): the schema migration runs
 * before any code, route, notification or schedule that needs it, and a failed first deploy rolls back.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { creationWaves, deployStack } from '../../twin/deploy';
import { loadTemplate, type TwinTemplate } from '../../twin/template';
import { synthToTemp } from './synth';

let synth: Awaited<ReturnType<typeof synthToTemp>>;
let template: TwinTemplate;

beforeAll(async () => {
  synth = await synthToTemp();
  template = loadTemplate(synth.dir);
}, 180_000);

afterAll(() => synth?.remove());

const migrationOf = (of: TwinTemplate) => of.ofType('Custom::Trigger')[0]!;
/** Our functions: the ones that reach the database (CDK's own deploy-time helpers do not). */
const serviceFunctions = (of: TwinTemplate) =>
  Object.values(of.functions()).filter(
    (fn) => fn.environment.DB_CLUSTER_ARN && !String(of.resources[migrationOf(of)]!.Properties.HandlerArn).includes(`:${fn.name}:`),
  );

describe('deploy order', () => {
  it('creates every function, route, notification and schedule in a wave after the migration', () => {
    const waves = creationWaves(template);
    const waveOf = (id: string) => waves.findIndex((wave) => wave.includes(id));
    const migration = waveOf(migrationOf(template));
    const serving = [
      ...serviceFunctions(template).map((fn) => fn.logicalId),
      ...template.ofType('AWS::ApiGatewayV2::Route'),
      ...template.ofType('AWS::Events::Rule'),
      ...template.ofType('Custom::S3BucketNotifications'),
    ];
    expect(serving.length).toBeGreaterThan(20);
    for (const id of serving) expect(waveOf(id), `${id} after the migration`).toBeGreaterThan(migration);
  });
});

describe('a failed first deploy', () => {
  const failingMigration = (of: TwinTemplate) => ({
    async create(id: string) {
      if (id === migrationOf(of)) throw new Error('Migration failed');
    },
  });

  it('rolls back completely when the migration fails', async () => {
    const result = await deployStack(template, failingMigration(template));
    expect(result.failure?.logicalId).toBe(migrationOf(template));
    expect(result.deleteFailures).toEqual([]);
    expect(result.status).toBe('ROLLBACK_COMPLETE');
  });

  it('is stuck in ROLLBACK_FAILED when the cluster is created with deletion protection on', async () => {
    const protectedCopy = JSON.parse(readFileSync(template.templateFile, 'utf8'));
    for (const resource of Object.values<any>(protectedCopy.Resources)) {
      if (resource.Type === 'AWS::RDS::DBCluster') resource.Properties.DeletionProtection = true;
    }
    const copy = mkdtempSync(join(tmpdir(), 'twin-protected-'));
    copyFileSync(join(synth.dir, 'manifest.json'), join(copy, 'manifest.json'));
    writeFileSync(join(copy, basename(template.templateFile)), JSON.stringify(protectedCopy));
    const guarded = loadTemplate(copy);
    const result = await deployStack(guarded, failingMigration(guarded));
    rmSync(copy, { recursive: true, force: true });
    expect(result.status).toBe('ROLLBACK_FAILED');
    expect(result.deleteFailures.map((failure) => guarded.resources[failure.logicalId]!.Type)).toEqual(['AWS::RDS::DBCluster']);
  });
});
