/**
 * A monthly cost estimate from the synthesized template at a given traffic: what the template fixes
 * (functions and their memory, the schedule, Aurora's capacity floor, secrets, alarms, dashboards,
 * tracing, snapshot retention) read from it, what traffic adds from scripts/cost/traffic.ts, priced
 * from a dated price file (scripts/prices/<region>.json). One line per service and item.
 */

import { SNAPSHOTS_PREFIX } from '../../functions/core/keys';
import { constructIdOf } from '../../lib/interview-ops-stack';
import { CUSTOM_METRICS, INVOCATION, type Traffic } from './traffic';

export interface Prices {
  region: string;
  date: string;
  aurora: { acuHour: number; storageGbMonth: number; ioPerMillion: number };
  dataApi: { perMillionRequests: number };
  lambda: { perMillionRequests: number; arm64GbSecond: number };
  httpApi: { perMillionRequests: number };
  s3: { storageGbMonth: number; putPerThousand: number; getPerThousand: number };
  secretsManager: { secretMonth: number; per10kCalls: number };
  cloudwatch: {
    alarmMetricMonth: number;
    dashboardMonth: number;
    customMetricMonth: number;
    logsIngestGb: number;
    logsStorageGbMonth: number;
  };
  xray: { perMillionTracesRecorded: number };
  transcribe: { streamingPerMinute: number };
  /** The account's monthly 'always free' allowances, applied when the estimate is asked to. */
  alwaysFree: {
    cloudwatchAlarmMetrics: number;
    cloudwatchDashboards: number;
    cloudwatchCustomMetrics: number;
    lambdaRequests: number;
    lambdaGbSeconds: number;
    xrayTraces: number;
  };
}

export interface EstimateOptions {
  /** Subtract the account's always-free allowances, as for an account that runs nothing else on them. */
  alwaysFree?: boolean;
}

type Resource = { Type: string; Properties?: Record<string, any> };
export interface CloudFormationTemplate {
  Resources: Record<string, Resource>;
}

/** What the estimate reads from the template. */
export interface TemplateFacts {
  functions: number;
  tracedFunctions: number;
  /** Memory in MB of the function built for a handler module. */
  memoryOf(handler: string): number;
  scheduledRunsPerMonth: number;
  databaseMinCapacity: number;
  secondsUntilAutoPause: number | undefined;
  secrets: number;
  /** CloudWatch bills an alarm per metric it evaluates. */
  alarmMetrics: number;
  dashboards: number;
  snapshotRetentionDays: number;
}

const HOURS_PER_MONTH = 730;
const DAYS_PER_MONTH = 30;
const MINUTES_PER_MONTH = HOURS_PER_MONTH * 60;
const GB = 1e9;

const ofType = (template: CloudFormationTemplate, type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);

/** Runs a month of a rate(...) expression; cron(...) is taken as once a minute, the most it can be. */
const runsPerMonth = (expression: string): number => {
  const rate = /^rate\((\d+) (minutes?|hours?|days?)\)$/.exec(expression);
  if (!rate) return MINUTES_PER_MONTH;
  const minutes =
    Number(rate[1]) * ({ minute: 1, minutes: 1, hour: 60, hours: 60, day: 1440, days: 1440 } as Record<string, number>)[rate[2]!]!;
  return MINUTES_PER_MONTH / minutes;
};

export const readTemplate = (template: CloudFormationTemplate): TemplateFacts => {
  const functions = ofType(template, 'AWS::Lambda::Function');
  const memoryOf = (handler: string) => {
    const prefix = `${constructIdOf(handler)}Function`;
    const found = functions.find(([id]) => id.startsWith(prefix) && /^[0-9A-F]{8}$/.test(id.slice(prefix.length)));
    if (!found) throw new Error(`the template has no function for ${handler}`);
    return Number(found[1].Properties?.MemorySize ?? 128);
  };
  const scaling = ofType(template, 'AWS::RDS::DBCluster')[0]?.[1].Properties?.ServerlessV2ScalingConfiguration ?? {};
  const alarms = ofType(template, 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties ?? {});
  const lifecycle = ofType(template, 'AWS::S3::Bucket')
    .flatMap(([, bucket]) => (bucket.Properties?.LifecycleConfiguration?.Rules ?? []) as { Prefix?: string; ExpirationInDays?: number }[])
    .find((rule) => rule.Prefix === SNAPSHOTS_PREFIX);
  return {
    functions: functions.length,
    tracedFunctions: functions.filter(([, fn]) => fn.Properties?.TracingConfig?.Mode === 'Active').length,
    memoryOf,
    scheduledRunsPerMonth: ofType(template, 'AWS::Events::Rule')
      .map(([, rule]) => rule.Properties?.ScheduleExpression)
      .filter((expression): expression is string => typeof expression === 'string')
      .reduce((sum, expression) => sum + runsPerMonth(expression), 0),
    databaseMinCapacity: Number(scaling.MinCapacity ?? 0.5),
    secondsUntilAutoPause: scaling.SecondsUntilAutoPause === undefined ? undefined : Number(scaling.SecondsUntilAutoPause),
    secrets: ofType(template, 'AWS::SecretsManager::Secret').length,
    alarmMetrics: alarms.reduce((sum, alarm) => {
      const stats = ((alarm.Metrics ?? []) as { MetricStat?: unknown }[]).filter((metric) => metric.MetricStat).length;
      return sum + Math.max(1, stats);
    }, 0),
    dashboards: ofType(template, 'AWS::CloudWatch::Dashboard').length,
    snapshotRetentionDays: Number(lifecycle?.ExpirationInDays ?? 7),
  };
};

export interface CostLine {
  service: string;
  item: string;
  /** USD a month. */
  monthly: number;
}

export interface Estimate {
  traffic: string;
  lines: CostLine[];
  total: number;
}

export const estimate = (facts: TemplateFacts, traffic: Traffic, prices: Prices, options: EstimateOptions = {}): Estimate => {
  const lines: CostLine[] = [];
  const free = options.alwaysFree ? prices.alwaysFree : undefined;
  const billable = (quantity: number, allowance: number | undefined) => Math.max(0, quantity - (allowance ?? 0));
  const add = (service: string, item: string, monthly: number) => lines.push({ service, item, monthly });
  const interviews = traffic.interviewsPerDay * DAYS_PER_MONTH;
  const each = traffic.interview;

  // What the interviews send through API Gateway, and what each call costs its function.
  const uploads = interviews * each.audioChunks;
  const plainCalls = interviews * (1 + each.codeSaves + each.executions + each.reads);
  const snapshotRequests = interviews * each.snapshotRequests;
  const apiCalls = uploads + plainCalls + snapshotRequests;

  // Snapshots read the whole database: half a month's rows on average, with no row retention.
  const averageRows = (interviews * each.rows) / 2;
  const snapshotBytes = averageRows * INVOCATION.snapshot.bytesPerRow;
  const snapshotSeconds = INVOCATION.snapshot.baseSeconds + snapshotBytes / INVOCATION.snapshot.bytesPerSecond;
  const snapshotDataApiCalls = 5 + Math.ceil(averageRows / INVOCATION.snapshot.rowsPerPage);
  const activeRunsShare = traffic.activeHoursPerDay / 24;
  const changedRuns = facts.scheduledRunsPerMonth * activeRunsShare;
  const unchangedRuns = facts.scheduledRunsPerMonth - changedRuns;

  const chunkSeconds = (each.transcriptionMinutes * 60) / Math.max(1, each.audioChunks);
  const transcriptionRuns = uploads;
  const gbSeconds =
    (plainCalls * INVOCATION.plainCall.seconds * facts.memoryOf('get-session')) / 1024 +
    (uploads * INVOCATION.upload.seconds * facts.memoryOf('upload-audio-chunk')) / 1024 +
    (transcriptionRuns * (chunkSeconds + INVOCATION.transcription.extraSeconds) * facts.memoryOf('transcribe-audio-chunk')) / 1024 +
    (snapshotRequests * snapshotSeconds * facts.memoryOf('trigger-snapshot')) / 1024 +
    ((changedRuns * snapshotSeconds + unchangedRuns * INVOCATION.idleSnapshot.seconds) * facts.memoryOf('take-scheduled-snapshot')) / 1024;
  const invocations = apiCalls + transcriptionRuns + facts.scheduledRunsPerMonth;

  // Aurora: awake for the traffic's window, or always when idle minutes still query it; paused otherwise.
  const alwaysAwake = facts.databaseMinCapacity > 0 || traffic.idleSnapshotsTouchDatabase;
  const awakeHours = alwaysAwake ? HOURS_PER_MONTH : traffic.activeHoursPerDay * DAYS_PER_MONTH;
  const acu = Math.max(facts.databaseMinCapacity, traffic.averageAcuWhileActive, alwaysAwake ? 0.5 : 0);
  add(
    'Aurora Serverless v2',
    `${acu} ACU for ${awakeHours.toFixed(0)} h (minimum ${facts.databaseMinCapacity} ACU)`,
    awakeHours * acu * prices.aurora.acuHour,
  );
  const databaseGb = Math.max(0.01, (averageRows * 500) / GB);
  add('Aurora Serverless v2', `storage, ${databaseGb.toFixed(2)} GB`, databaseGb * prices.aurora.storageGbMonth);
  const dataApiCalls =
    plainCalls * INVOCATION.plainCall.dataApiCalls +
    uploads * INVOCATION.upload.dataApiCalls +
    transcriptionRuns * INVOCATION.transcription.dataApiCalls +
    (snapshotRequests + changedRuns) * snapshotDataApiCalls +
    (traffic.idleSnapshotsTouchDatabase ? unchangedRuns * 5 : 0);
  add(
    'Aurora Serverless v2',
    `I/O, ${INVOCATION.ioPerDataApiCall} per Data API call`,
    ((dataApiCalls * INVOCATION.ioPerDataApiCall) / 1e6) * prices.aurora.ioPerMillion,
  );
  add(
    'RDS Data API',
    `${Math.round(dataApiCalls).toLocaleString('en-US')} requests`,
    (dataApiCalls / 1e6) * prices.dataApi.perMillionRequests,
  );

  add(
    'Lambda',
    `${Math.round(invocations).toLocaleString('en-US')} invocations`,
    (billable(invocations, free?.lambdaRequests) / 1e6) * prices.lambda.perMillionRequests,
  );
  add(
    'Lambda',
    `${Math.round(gbSeconds).toLocaleString('en-US')} GB-s (arm64)`,
    billable(gbSeconds, free?.lambdaGbSeconds) * prices.lambda.arm64GbSecond,
  );
  add(
    'API Gateway (HTTP API)',
    `${Math.round(apiCalls).toLocaleString('en-US')} requests`,
    (apiCalls / 1e6) * prices.httpApi.perMillionRequests,
  );
  add(
    'Amazon Transcribe',
    `${(interviews * each.transcriptionMinutes).toLocaleString('en-US')} streaming minutes`,
    interviews * each.transcriptionMinutes * prices.transcribe.streamingPerMinute,
  );

  // S3: audio, transcripts and snapshots; storage as the first month's average (no retention of audio).
  const audioGb = (uploads * each.chunkBytes) / GB / 2;
  const snapshotsKept =
    Math.min(facts.snapshotRetentionDays, DAYS_PER_MONTH) * (facts.scheduledRunsPerMonth / DAYS_PER_MONTH) * activeRunsShare;
  const snapshotGb = (snapshotsKept * snapshotBytes) / GB;
  add('S3', `storage: audio and transcripts ${audioGb.toFixed(1)} GB (month's average)`, audioGb * prices.s3.storageGbMonth);
  add(
    'S3',
    `storage: ${Math.round(snapshotsKept)} snapshots kept ${facts.snapshotRetentionDays} days, ${snapshotGb.toFixed(1)} GB`,
    snapshotGb * prices.s3.storageGbMonth,
  );
  const puts =
    uploads * INVOCATION.upload.s3Puts +
    transcriptionRuns * INVOCATION.transcription.s3Puts +
    snapshotRequests +
    changedRuns +
    unchangedRuns * INVOCATION.idleSnapshot.s3Puts;
  const gets =
    uploads * INVOCATION.upload.s3Gets +
    transcriptionRuns * INVOCATION.transcription.s3Gets +
    interviews * each.reads +
    unchangedRuns * INVOCATION.idleSnapshot.s3Gets;
  add(
    'S3',
    `${Math.round(puts).toLocaleString('en-US')} PUT, ${Math.round(gets).toLocaleString('en-US')} GET`,
    (puts / 1000) * prices.s3.putPerThousand + (gets / 1000) * prices.s3.getPerThousand,
  );

  add('Secrets Manager', `${facts.secrets} secrets`, facts.secrets * prices.secretsManager.secretMonth);
  add(
    'CloudWatch',
    `${facts.alarmMetrics} alarm metrics`,
    billable(facts.alarmMetrics, free?.cloudwatchAlarmMetrics) * prices.cloudwatch.alarmMetricMonth,
  );
  add(
    'CloudWatch',
    `${facts.dashboards} dashboard(s)`,
    billable(facts.dashboards, free?.cloudwatchDashboards) * prices.cloudwatch.dashboardMonth,
  );
  const customMetrics = interviews > 0 ? CUSTOM_METRICS.withTraffic : CUSTOM_METRICS.idle;
  add(
    'CloudWatch',
    `${customMetrics} custom metrics (EMF)`,
    billable(customMetrics, free?.cloudwatchCustomMetrics) * prices.cloudwatch.customMetricMonth,
  );
  const logGb = (invocations * INVOCATION.logBytes) / GB;
  add(
    'CloudWatch',
    `logs, ${logGb.toFixed(2)} GB ingested`,
    logGb * (prices.cloudwatch.logsIngestGb + prices.cloudwatch.logsStorageGbMonth),
  );
  // The default sampling rule records 1 request a second and 5 % beyond: at these rates, about every invocation.
  const traces = facts.tracedFunctions > 0 ? invocations : 0;
  add(
    'X-Ray',
    `${Math.round(traces).toLocaleString('en-US')} traces`,
    (billable(traces, free?.xrayTraces) / 1e6) * prices.xray.perMillionTracesRecorded,
  );

  const total = lines.reduce((sum, line) => sum + line.monthly, 0);
  return { traffic: free ? `${traffic.name}, always-free allowances applied` : traffic.name, lines, total };
};

/** Lines that watch the service rather than run it. */
export const isMonitoring = (line: CostLine): boolean => line.service === 'CloudWatch' || line.service === 'X-Ray';
