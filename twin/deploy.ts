/**
 * CloudFormation's part: a stack is created in waves, each resource as soon as everything it depends on
 * (DependsOn, Ref, Fn::GetAtt, Fn::Sub references) exists, and a failed create rolls back by deleting
 * what was created, newest first. The twin runs its resources in that order, so a dependency the
 * template lacks shows up here as it would on AWS.
 */
import { readFileSync } from 'node:fs';
import type { TwinTemplate } from './template';

type RawResource = { Type: string; Properties?: unknown; DependsOn?: string | string[]; DeletionPolicy?: string };

/** Logical ids a raw template resource refers to. */
const referencesOf = (resource: RawResource, known: ReadonlySet<string>): Set<string> => {
  const found = new Set<string>([resource.DependsOn ?? []].flat());
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (!value || typeof value !== 'object') return;
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'Ref' && typeof inner === 'string') found.add(inner);
      else if (key === 'Fn::GetAtt') found.add(Array.isArray(inner) ? String(inner[0]) : String(inner).split('.')[0]!);
      else if (key === 'Fn::Sub') {
        const text = Array.isArray(inner) ? String(inner[0]) : String(inner);
        for (const [, name] of text.matchAll(/\$\{([^}!.]+)[^}]*\}/g)) found.add(name!);
        if (Array.isArray(inner)) walk(inner[1]);
      } else walk(inner);
    }
  };
  walk(resource.Properties);
  return new Set([...found].filter((id) => known.has(id)));
};

/** Resources grouped into the waves CloudFormation creates them in: wave n depends only on waves before it. */
export const creationWaves = (template: Pick<TwinTemplate, 'templateFile'>): string[][] => {
  const raw = (JSON.parse(readFileSync(template.templateFile, 'utf8')) as { Resources: Record<string, RawResource> }).Resources;
  const ids = new Set(Object.keys(raw));
  const dependencies = new Map([...ids].map((id) => [id, referencesOf(raw[id]!, ids)]));
  const waves: string[][] = [];
  const placed = new Set<string>();
  while (placed.size < ids.size) {
    const wave = [...ids].filter((id) => !placed.has(id) && [...dependencies.get(id)!].every((dependency) => placed.has(dependency)));
    if (wave.length === 0) throw new Error(`circular dependency among ${[...ids].filter((id) => !placed.has(id)).join(', ')}`);
    wave.sort();
    for (const id of wave) placed.add(id);
    waves.push(wave);
  }
  return waves;
};

export type StackStatus = 'CREATE_COMPLETE' | 'ROLLBACK_COMPLETE' | 'ROLLBACK_FAILED';

export interface DeployResult {
  status: StackStatus;
  /** Logical ids in the order they were created. */
  created: string[];
  /** The resource whose create failed, and why. */
  failure?: { logicalId: string; reason: string };
  /** Resources whose delete failed during rollback, and why. */
  deleteFailures: { logicalId: string; reason: string }[];
}

export interface DeployHooks {
  /** Brings one resource to life; a throw fails the deploy. Resources of one wave are created together. */
  create(logicalId: string): Promise<void>;
  /** Removes one resource during rollback; a throw leaves it (DELETE_FAILED). */
  remove?(logicalId: string): Promise<void>;
}

/** Refuses to delete what CloudFormation cannot delete: a cluster or instance with deletion protection on. */
export const deletionBlocker = (template: TwinTemplate, logicalId: string): string | undefined => {
  const resource = template.resources[logicalId];
  if (!resource) return undefined;
  const protectedTypes = ['AWS::RDS::DBCluster', 'AWS::RDS::DBInstance'];
  if (protectedTypes.includes(resource.Type) && resource.Properties.DeletionProtection === true) {
    return `Cannot delete protected Cluster ${template.physicalId(logicalId)}, please disable deletion protection and try again.`;
  }
  return undefined;
};

/** Creates the stack wave by wave; on the first failure deletes what exists, newest first, as a rollback does. */
export const deployStack = async (template: TwinTemplate, hooks: DeployHooks): Promise<DeployResult> => {
  const created: string[] = [];
  for (const wave of creationWaves(template)) {
    const outcomes = await Promise.allSettled(
      wave.map(async (id) => {
        await hooks.create(id);
        created.push(id);
      }),
    );
    const failed = outcomes.findIndex((outcome) => outcome.status === 'rejected');
    if (failed === -1) continue;
    const reason = String(
      (outcomes[failed] as PromiseRejectedResult).reason?.message ?? (outcomes[failed] as PromiseRejectedResult).reason,
    );
    const deleteFailures: DeployResult['deleteFailures'] = [];
    for (const id of [...created].reverse()) {
      const blocked = deletionBlocker(template, id);
      if (blocked) {
        deleteFailures.push({ logicalId: id, reason: blocked });
        continue;
      }
      await hooks.remove?.(id).catch((error: Error) => deleteFailures.push({ logicalId: id, reason: error.message }));
    }
    return {
      status: deleteFailures.length ? 'ROLLBACK_FAILED' : 'ROLLBACK_COMPLETE',
      created,
      failure: { logicalId: wave[failed]!, reason },
      deleteFailures,
    };
  }
  return { status: 'CREATE_COMPLETE', created, deleteFailures: [] };
};
