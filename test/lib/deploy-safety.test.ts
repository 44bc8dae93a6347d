/**
 * What CloudFormation does with the stack on a first deploy, a later deploy and a failed one: the schema
 * migration comes before any code that uses it, and a failed create can roll back.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { InterviewOpsStack } from '../../lib/interview-ops-stack';

type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string[] };

const synth = (context: Record<string, unknown> = {}) => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const stack = new InterviewOpsStack(app, 'InterviewOps');
  return Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
};

/** Every logical id a resource waits for: DependsOn plus the Ref/GetAtt it reads, transitively. */
const dependenciesOf = (resources: Record<string, Resource>) => {
  const direct = (id: string): string[] => {
    const found = new Set(resources[id]?.DependsOn ?? []);
    const walk = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(walk);
      else if (value && typeof value === 'object') {
        for (const [key, inner] of Object.entries(value)) {
          if (key === 'Ref' && typeof inner === 'string' && resources[inner]) found.add(inner);
          else if (key === 'Fn::GetAtt' && Array.isArray(inner) && resources[inner[0]]) found.add(inner[0]);
          else walk(inner);
        }
      }
    };
    walk(resources[id]?.Properties);
    return [...found];
  };
  const memo = new Map<string, Set<string>>();
  const all = (id: string): Set<string> => {
    let known = memo.get(id);
    if (known) return known;
    known = new Set();
    memo.set(id, known);
    for (const dependency of direct(id)) {
      known.add(dependency);
      for (const further of all(dependency)) known.add(further);
    }
    return known;
  };
  return all;
};

describe('deploy order', () => {
  let resources: Record<string, Resource>;
  let after: (id: string) => Set<string>;
  let migration: string;
  beforeAll(() => {
    resources = synth();
    after = dependenciesOf(resources);
    migration = Object.keys(resources).find((id) => resources[id]!.Type === 'Custom::Trigger')!;
  });

  it('has one migration trigger', () => {
    expect(migration).toBeDefined();
  });

  it('creates and updates every function but the migrator only after the migration ran', () => {
    const migrator = resources[migration]!.Properties.HandlerArn;
    // Ours are the functions that reach the database; CDK's own deploy-time helpers are not.
    const functions = Object.entries(resources).filter(
      ([, resource]) => resource.Type === 'AWS::Lambda::Function' && resource.Properties.Environment?.Variables?.DB_CLUSTER_ARN,
    );
    const serving = functions.filter(([id]) => !JSON.stringify(migrator).includes(`"${id}`) && !after(migration).has(id));
    expect(serving.length).toBeGreaterThan(10);
    for (const [id] of serving) expect(after(id).has(migration), `${id} waits for the migration`).toBe(true);
  });

  it('starts the schedule, the S3 notifications and the API routes only after the migration ran', () => {
    const live = Object.entries(resources).filter(([, resource]) =>
      ['AWS::Events::Rule', 'Custom::S3BucketNotifications', 'AWS::ApiGatewayV2::Route'].includes(resource.Type),
    );
    expect(new Set(live.map(([, resource]) => resource.Type)).size).toBe(3);
    for (const [id] of live) expect(after(id).has(migration), `${id} waits for the migration`).toBe(true);
  });
});

describe('a failed first deploy', () => {
  it('can roll back: the cluster is created without deletion protection, and keeps a snapshot when deleted', () => {
    const [cluster] = Object.values(synth()).filter((resource) => resource.Type === 'AWS::RDS::DBCluster') as (Resource & {
      DeletionPolicy?: string;
    })[];
    expect(cluster!.Properties.DeletionProtection).not.toBe(true);
    expect(cluster!.DeletionPolicy).toBe('Snapshot');
  });

  it('turns deletion protection on with context databaseDeletionProtection=true, for a stack that is live', () => {
    const [cluster] = Object.values(synth({ databaseDeletionProtection: 'true' })).filter(
      (resource) => resource.Type === 'AWS::RDS::DBCluster',
    );
    expect(cluster!.Properties.DeletionProtection).toBe(true);
  });
});

describe('Transcribe streaming quota', () => {
  it('reserves concurrency for the transcribing functions that together stays within the stream quota', () => {
    const reserved = (quota?: string) =>
      Object.values(synth(quota ? { transcribeStreamQuota: quota } : {}))
        .filter((resource) => resource.Type === 'AWS::Lambda::Function')
        .filter((resource) => JSON.stringify(resource.Properties.Description ?? '').match(/process_chunk|Transcribe each inserted/))
        .map((resource) => resource.Properties.ReservedConcurrentExecutions as number | undefined);
    const byDefault = reserved();
    expect(byDefault).toHaveLength(2);
    expect(byDefault.every((value) => typeof value === 'number' && value >= 1)).toBe(true);
    expect(byDefault.reduce((sum, value) => sum! + value!, 0)).toBeLessThanOrEqual(25);
    expect(reserved('10').reduce((sum, value) => sum! + value!, 0)).toBeLessThanOrEqual(10);
  });
});
