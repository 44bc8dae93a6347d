/**
 * Log groups, with a retention, for the Lambda functions CDK adds by itself (the S3 notification handler,
 * the trigger provider, the default security group restriction): Lambda would otherwise create
 * `/aws/lambda/<name>` on their first run, kept forever. Each group is created before any custom resource
 * runs, so Lambda finds it instead of making its own. The log-retention helper is left out: it sets its own
 * group's retention (1 day) when it runs.
 */
import { CfnResource, Fn, RemovalPolicy, type Stack } from 'aws-cdk-lib';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';

const isCfn = (construct: IConstruct): construct is CfnResource => CfnResource.isCfnResource(construct);

/**
 * `own` are the stack's own functions' resources (they carry their log group in LoggingConfig). Call it
 * once the stack is complete: the helpers exist only after the constructs that need them.
 */
export const giveHelperFunctionsLogGroups = (stack: Stack, own: readonly IConstruct[], retention: RetentionDays): LogGroup[] => {
  const ownResources = new Set(own.map((construct) => construct.node.defaultChild ?? construct));
  const resources = stack.node.findAll().filter(isCfn);
  const helpers = resources.filter(
    (resource) =>
      resource.cfnResourceType === 'AWS::Lambda::Function' &&
      !ownResources.has(resource) &&
      !resource.node.path.split('/').some((part) => part.startsWith('LogRetention')),
  );
  const groups = helpers.map(
    (helper) =>
      new LogGroup(stack, `${stack.getLogicalId(helper)}Logs`, {
        logGroupName: Fn.join('', ['/aws/lambda/', helper.ref]),
        retention,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
  );
  for (const custom of resources.filter((resource) => resource.cfnResourceType.startsWith('Custom::'))) {
    for (const group of groups) custom.node.addDependency(group);
  }
  return groups;
};
