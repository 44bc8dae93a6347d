/**
 * The functions that events invoke (functions/routes.ts `eventFunctions`): S3 ObjectCreated on a prefix,
 * or the snapshot schedule. Both paths are asynchronous, so each gets retries and a queue that keeps
 * the events that still failed, for inspection and redrive.
 */
import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { EventType, type IBucket } from 'aws-cdk-lib/aws-s3';
import { LambdaDestination } from 'aws-cdk-lib/aws-s3-notifications';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { EventTrigger } from '../functions/routes';
import { acknowledgeNag } from './nag';

const failureQueue = (scope: Construct, id: string) =>
  new Queue(scope, id, {
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });

export interface EventWiringProps {
  trigger: EventTrigger;
  function: IFunction;
  bucket: IBucket;
  snapshotSchedule: string;
  retentionSweepSchedule: string;
}

export class EventWiring extends Construct {
  readonly failures: Queue;

  constructor(scope: Construct, id: string, props: EventWiringProps) {
    super(scope, id);
    this.failures = failureQueue(this, 'Failures');
    acknowledgeNag(
      this.failures,
      'SQS3',
      'This queue is itself the dead-letter queue of the asynchronous invocations; nothing consumes it automatically.',
    );
    const { trigger } = props;
    switch (trigger.kind) {
      case 'object-created': {
        props.function.configureAsyncInvoke({
          retryAttempts: 2,
          // A burst held back by reserved concurrency waits in Lambda's queue instead of being dropped.
          maxEventAge: Duration.hours(6),
          onFailure: new SqsDestination(this.failures),
        });
        props.bucket.addEventNotification(EventType.OBJECT_CREATED, new LambdaDestination(props.function), { prefix: trigger.prefix });
        break;
      }
      case 'schedule': {
        // EventBridge's retries cover a failed hand-off to Lambda (throttling, service errors); an event
        // older than a minute is superseded by the next one and dropped to the queue.
        new Rule(this, 'Schedule', {
          schedule: Schedule.expression(props.snapshotSchedule),
          description: 'Takes the scheduled sandbox snapshot',
          targets: [
            new LambdaFunction(props.function, {
              deadLetterQueue: this.failures,
              retryAttempts: 2,
              maxEventAge: Duration.minutes(1),
            }),
          ],
        });
        // An error inside the run is not retried: it goes to the queue, and the next minute snapshots afresh.
        props.function.configureAsyncInvoke({ retryAttempts: 0, onFailure: new SqsDestination(this.failures) });
        break;
      }
      case 'retention-schedule': {
        // Every step of the sweep is idempotent: a failed run is retried once, and the next day's run redoes the rest.
        new Rule(this, 'Schedule', {
          schedule: Schedule.expression(props.retentionSweepSchedule),
          description: 'Runs the retention sweep',
          targets: [
            new LambdaFunction(props.function, { deadLetterQueue: this.failures, retryAttempts: 2, maxEventAge: Duration.hours(1) }),
          ],
        });
        props.function.configureAsyncInvoke({ retryAttempts: 1, onFailure: new SqsDestination(this.failures) });
        break;
      }
      case 'transcribe-job-ended': {
        props.function.configureAsyncInvoke({
          retryAttempts: 2,
          maxEventAge: Duration.hours(6),
          onFailure: new SqsDestination(this.failures),
        });
        new Rule(this, 'JobEnded', {
          description: "Finishes a chunk's batch transcription when its Amazon Transcribe job ends",
          eventPattern: {
            source: ['aws.transcribe'],
            detailType: ['Transcribe Job State Change'],
            detail: {
              TranscriptionJobStatus: ['COMPLETED', 'FAILED'],
              TranscriptionJobName: [{ prefix: trigger.jobNamePrefix }],
            },
          },
          targets: [
            new LambdaFunction(props.function, { deadLetterQueue: this.failures, retryAttempts: 2, maxEventAge: Duration.hours(6) }),
          ],
        });
        break;
      }
      case 'rate': {
        // Housekeeping: a missed or failed run is made good by the next one.
        new Rule(this, 'Schedule', {
          schedule: Schedule.rate(Duration.minutes(trigger.minutes)),
          description: 'Runs housekeeping on its schedule',
          targets: [new LambdaFunction(props.function, { deadLetterQueue: this.failures, retryAttempts: 2 })],
        });
        props.function.configureAsyncInvoke({ retryAttempts: 0, onFailure: new SqsDestination(this.failures) });
        break;
      }
    }
  }
}
