/** The CDK app (cdk.json "app"): the stack, with the cdk-nag AwsSolutions checks run at every synth. */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { InterviewOpsStack } from '../lib/interview-ops-stack';

const app = new App();
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
// No env: the stack is account- and region-agnostic, so `cdk synth` needs neither credentials nor network.
new InterviewOpsStack(app, 'InterviewOps', {
  description: 'interview-ops: transcripts of interview audio and sandbox snapshots, on Lambda, S3 and Aurora',
});
app.synth();
