/**
 * Acknowledging a cdk-nag AwsSolutions finding on one construct, with the reason beside it. bin/app.ts
 * runs the checks at every synth and fails it on any finding that is not acknowledged this way.
 */
import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** `rule` as cdk-nag names it: 'SMG4', or a single finding such as 'IAM5[Resource::*]'. */
export const acknowledgeNag = (scope: IConstruct, rule: string, reason: string) =>
  Validations.of(scope).acknowledge({ id: `AwsSolutions::AwsSolutions-${rule}`, reason });
