/**
 * Operating the stack: one SNS topic every alarm notifies (with an optional email subscription), alarms
 * on each failure queue, each event function's errors and throttles, the API's 5xx answers (every route
 * function's errors, timeouts and throttles end in one) and a stale scheduled snapshot, and one
 * dashboard of the functions, the queues and the business metrics the handlers emit as EMF
 * (functions/observability.ts). docs/deploy.md "Operating it" says what to do when each fires.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import {
  type Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, METRICS_SERVICE, MetricNames } from '../functions/metric-names';
import { acknowledgeNag } from './nag';

export interface ObservedFunction {
  /** The handler module's name (functions/handlers/<handler>.ts). */
  handler: string;
  function: IFunction;
}

export interface ObservedQueue {
  /** The handler whose failed events the queue keeps. */
  handler: string;
  queue: IQueue;
}

export interface ObservabilityProps {
  /** Every function: the dashboard graphs them all. */
  functions: readonly ObservedFunction[];
  /** Functions events invoke: each gets its own errors and throttles alarms. */
  eventFunctions: readonly ObservedFunction[];
  /**
   * The API whose 5xx answers are alarmed once for all route functions: CloudWatch bills each alarm metric,
   * and two per route function would cost more than the idle stack runs on (docs/deploy.md, Cost).
   */
  api?: { metricServerError(props?: { period?: Duration; statistic?: string }): Metric };
  failureQueues: readonly ObservedQueue[];
  /** The scheduled snapshot function, watched for staleness; none in a stack without the schedule. */
  snapshotFunction?: IFunction;
  snapshotStaleMinutes: number;
  alarmEmail?: string;
}

/** Errors and throttles are counted over this window; one is enough to notify. */
const FUNCTION_ALARM_PERIOD = Duration.minutes(5);

/** A business metric the handlers emit (functions/observability.ts), with the dimension Powertools gives it. */
export const businessMetric = (metricName: string, statistic = 'Sum', label?: string): Metric =>
  new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: METRICS_SERVICE },
    statistic,
    period: Duration.minutes(5),
    ...(label ? { label } : {}),
  });

export class Observability extends Construct {
  readonly topic: Topic;
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    this.topic = new Topic(this, 'Alarms', { displayName: 'interview-ops alarms', enforceSSL: true });
    acknowledgeNag(
      this.topic,
      'SNS2',
      'CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed SNS key, and the notifications carry only alarm names and states, no service data; a customer-managed key would be a key to run for nothing secret.',
    );
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    const notify = new SnsAction(this.topic);
    // Named for the operator who reads them in a notification: <stack>-<handler>-<what>.
    const nameOf = (what: string) => `${Stack.of(this).stackName}-${what}`;
    const watch = (alarm: Alarm) => {
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
      this.alarms.push(alarm);
      return alarm;
    };

    for (const { handler, queue } of props.failureQueues) {
      watch(
        queue
          .metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' })
          .createAlarm(this, `${handler}-FailuresQueued`, {
            alarmName: nameOf(`${handler}-FailuresQueued`),
            alarmDescription: `${handler}: events failed after their retries and wait in the failure queue for inspection and redrive (docs/deploy.md, Operating it)`,
            threshold: 1,
            comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluationPeriods: 1,
            treatMissingData: TreatMissingData.NOT_BREACHING,
          }),
      );
    }

    if (props.api) {
      watch(
        props.api.metricServerError({ period: FUNCTION_ALARM_PERIOD, statistic: 'Sum' }).createAlarm(this, 'Api-ServerErrors', {
          alarmName: nameOf('Api-ServerErrors'),
          alarmDescription:
            "The API answered 5xx: a route function failed, timed out, was throttled, or a dependency was unavailable (503); see the route functions' log groups",
          threshold: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }

    for (const { handler, function: fn } of props.eventFunctions) {
      watch(
        fn.metricErrors({ period: FUNCTION_ALARM_PERIOD, statistic: 'Sum' }).createAlarm(this, `${handler}-Errors`, {
          alarmName: nameOf(`${handler}-Errors`),
          alarmDescription: `${handler}: invocations failed (an unhandled error, a timeout or a crash); see its log group`,
          threshold: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
      watch(
        fn.metricThrottles({ period: FUNCTION_ALARM_PERIOD, statistic: 'Sum' }).createAlarm(this, `${handler}-Throttles`, {
          alarmName: nameOf(`${handler}-Throttles`),
          alarmDescription: `${handler}: invocations throttled (reserved or account concurrency reached)`,
          threshold: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }

    if (props.snapshotFunction) {
      // Successful runs in the window: invocations that did not end in an error. No data at all (the
      // schedule stopped, or the function was never invoked) is as stale as failed runs.
      const window = Duration.minutes(props.snapshotStaleMinutes);
      const successful = new MathExpression({
        expression: 'invocations - errors',
        usingMetrics: {
          invocations: props.snapshotFunction.metricInvocations({ period: window, statistic: 'Sum' }),
          errors: props.snapshotFunction.metricErrors({ period: window, statistic: 'Sum' }),
        },
        period: window,
        label: 'successful scheduled snapshots',
      });
      watch(
        successful.createAlarm(this, 'SnapshotStale', {
          alarmName: nameOf('SnapshotStale'),
          alarmDescription: `No successful scheduled snapshot for ${props.snapshotStaleMinutes} minutes (context snapshotStaleMinutes)`,
          threshold: 1,
          comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.BREACHING,
        }),
      );
    }

    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    const perFunction = (title: string, metricOf: (fn: IFunction) => Metric) =>
      new GraphWidget({
        title,
        width: 8,
        height: 8,
        left: props.functions.map(({ handler, function: fn }) => metricOf(fn).with({ label: handler })),
      });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: '# interview-ops\nAlarms notify the stack\'s alarm topic. What to do when one fires: docs/deploy.md, "Operating it".',
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      perFunction('Invocations', (fn) => fn.metricInvocations({ statistic: 'Sum' })),
      perFunction('Errors', (fn) => fn.metricErrors({ statistic: 'Sum' })),
      perFunction('Duration (p95)', (fn) => fn.metricDuration({ statistic: 'p95' })),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Failure queue depth',
        width: 8,
        left: props.failureQueues.map(({ handler, queue }) =>
          queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', label: handler }),
        ),
      }),
      new GraphWidget({
        title: 'Transcription',
        width: 8,
        left: [
          businessMetric(MetricNames.chunksReceived, 'Sum', 'received'),
          businessMetric(MetricNames.chunksTranscribed, 'Sum', 'transcribed'),
          businessMetric(MetricNames.chunksFailed, 'Sum', 'failed'),
        ],
        right: [
          businessMetric(MetricNames.transcriptionLag, 'p95', 'lag p95 (ms)'),
          businessMetric(MetricNames.audioSecondsReceived, 'Sum', 'audio seconds'),
          businessMetric(MetricNames.audioBytesReceived, 'Sum', 'audio bytes'),
        ],
      }),
      new GraphWidget({
        title: 'Snapshots',
        width: 8,
        left: [businessMetric(MetricNames.snapshotsTaken, 'Sum', 'taken'), businessMetric(MetricNames.snapshotsFailed, 'Sum', 'failed')],
        right: [
          businessMetric(MetricNames.snapshotDuration, 'Maximum', 'duration max (ms)'),
          businessMetric(MetricNames.snapshotRows, 'Maximum', 'rows'),
          businessMetric(MetricNames.snapshotBytes, 'Maximum', 'bytes'),
        ],
      }),
    );
  }
}
