/**
 * The deploy-time settings, read from CDK context (`cdk deploy -c name=value` or cdk.json "context"),
 * checked once so a bad value stops the synth with a clear message.
 */
import type { Node } from 'constructs';
import { parseCorsOrigins } from '../functions/http/cors';

export type AuthMode = 'iam' | 'jwt';

export interface StackSettings {
  /** Days a snapshot object lives before the bucket's lifecycle rule expires it. */
  snapshotRetentionDays: number;
  /** EventBridge schedule for the snapshot function. */
  snapshotSchedule: string;
  /** How every route but the public ones is authorized. */
  authMode: AuthMode;
  jwtIssuer?: string;
  jwtAudience: string[];
  /**
   * Web origins whose pages may call the API and PUT presigned uploads (a comma list, or `*`); empty: the
   * API answers no preflight and the bucket takes cross-origin PUTs from any origin, as before.
   */
  corsOrigins: string[];
  /** Amazon Transcribe language code. */
  transcribeLanguage: string;
  /** Two or more codes: Transcribe identifies the language among them instead (TRANSCRIBE_LANGUAGE_OPTIONS). */
  transcribeLanguageOptions: string[];
  /**
   * Off by default so a failed first deploy can roll back (CloudFormation cannot delete a protected
   * cluster); turn it on once the stack is live. The cluster keeps a final snapshot either way.
   */
  databaseDeletionProtection: boolean;
  /** Amazon Transcribe's concurrent-stream quota for the account and region; the transcribing functions reserve within it. */
  transcribeStreamQuota: number;
  /** Where the alarm topic sends email; unset: the topic has no subscription (subscribe to it as you like). */
  alarmEmail?: string;
  /** Minutes without a successful scheduled snapshot before the staleness alarm fires. */
  snapshotStaleMinutes: number;
  /** Days audio objects are kept (a tag-filtered lifecycle rule); unset: until the session is erased. */
  audioRetentionDays?: number;
  /** Days transcripts, their details and search entries are kept; unset: until the session is erased. */
  transcriptRetentionDays?: number;
  /** Days a session and all its data are kept from its creation (the retention sweep); unset: until erased. */
  sessionRetentionDays?: number;
  /** EventBridge schedule for the retention sweep. */
  retentionSweepSchedule: string;
  /** Aurora Serverless v2 capacity floor in ACU: 0 (default) pauses the idle cluster, 0.5 or more keeps it warm. */
  databaseMinCapacity: number;
  /** Aurora Serverless v2 capacity ceiling in ACU. */
  databaseMaxCapacity: number;
  /** Seconds without connections before the cluster pauses, when databaseMinCapacity is 0 (300 to 86400). */
  databaseSecondsUntilAutoPause: number;
}

const contextString = (node: Node, key: string): string | undefined => {
  const value: unknown = node.tryGetContext(key);
  return value === undefined || value === null || value === '' ? undefined : String(value);
};

const MINUTES_PER_UNIT: Record<string, number> = { minute: 1, minutes: 1, hour: 60, hours: 60, day: 1440, days: 1440 };

/** The period of a rate(...) schedule in minutes; undefined for cron(...), whose period varies. */
export const schedulePeriodMinutes = (schedule: string): number | undefined => {
  const rate = /^rate\((\d+) (minutes?|hours?|days?)\)$/.exec(schedule);
  return rate ? Number(rate[1]) * MINUTES_PER_UNIT[rate[2]!]! : undefined;
};

export const readStackSettings = (node: Node): StackSettings => {
  const retention = Number(contextString(node, 'snapshotRetentionDays') ?? 7);
  if (!Number.isInteger(retention) || retention < 1) throw new Error('context snapshotRetentionDays: a whole number of days, at least 1');

  const snapshotSchedule = contextString(node, 'snapshotSchedule') ?? 'rate(1 minute)';
  if (!/^(rate|cron)\(.+\)$/.test(snapshotSchedule))
    throw new Error('context snapshotSchedule: an EventBridge rate(...) or cron(...) expression');

  const authMode = contextString(node, 'authMode') ?? 'iam';
  if (authMode !== 'iam' && authMode !== 'jwt') throw new Error("context authMode: 'iam' or 'jwt'");

  const jwtIssuer = contextString(node, 'jwtIssuer');
  const audience: unknown = node.tryGetContext('jwtAudience');
  const jwtAudience = (Array.isArray(audience) ? audience.map(String) : (contextString(node, 'jwtAudience') ?? '').split(','))
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (authMode === 'jwt' && (!jwtIssuer?.startsWith('https://') || jwtAudience.length === 0)) {
    throw new Error('authMode jwt needs context jwtIssuer (an https:// URL) and jwtAudience (one or more, comma-separated)');
  }

  const cors: unknown = node.tryGetContext('corsOrigins');
  let corsOrigins: string[];
  try {
    corsOrigins = parseCorsOrigins(Array.isArray(cors) ? cors.map(String).join(',') : contextString(node, 'corsOrigins'));
  } catch (error) {
    throw new Error(`context corsOrigins: ${(error as Error).message}`);
  }

  const transcribeLanguage = contextString(node, 'transcribeLanguage') ?? 'en-US';
  if (!/^[a-z]{2}-[A-Z]{2}$/.test(transcribeLanguage)) throw new Error('context transcribeLanguage: a language code such as en-US');

  const transcribeLanguageOptions = (contextString(node, 'transcribeLanguageOptions') ?? '')
    .split(',')
    .map((code) => code.trim())
    .filter(Boolean);
  if (transcribeLanguageOptions.length === 1 || transcribeLanguageOptions.some((code) => !/^[a-z]{2}-[A-Z]{2}$/.test(code))) {
    throw new Error('context transcribeLanguageOptions: two or more comma-separated language codes, such as en-US,es-US');
  }

  const protection = contextString(node, 'databaseDeletionProtection') ?? 'false';
  if (protection !== 'true' && protection !== 'false') throw new Error("context databaseDeletionProtection: 'true' or 'false'");

  const transcribeStreamQuota = Number(contextString(node, 'transcribeStreamQuota') ?? 25);
  if (!Number.isInteger(transcribeStreamQuota) || transcribeStreamQuota < 2) {
    throw new Error("context transcribeStreamQuota: the account's concurrent Transcribe streams, a whole number of at least 2");
  }

  const alarmEmail = contextString(node, 'alarmEmail');
  if (alarmEmail !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(alarmEmail)) throw new Error('context alarmEmail: an email address');

  const snapshotStaleMinutes = Number(contextString(node, 'snapshotStaleMinutes') ?? 5);
  if (!Number.isInteger(snapshotStaleMinutes) || snapshotStaleMinutes < 2 || snapshotStaleMinutes > 1440) {
    throw new Error('context snapshotStaleMinutes: a whole number of minutes, from 2 to 1440');
  }

  const period = schedulePeriodMinutes(snapshotSchedule);
  if (period !== undefined && snapshotStaleMinutes <= period) {
    throw new Error(
      `context snapshotStaleMinutes (${snapshotStaleMinutes}) must exceed the snapshot schedule's period (${period} minutes), or the staleness alarm fires between runs`,
    );
  }

  // At least 2 days: objects written into a held session carry the expiring tag until the daily sweep re-tags them.
  const retentionDays = (key: string, least: number): number | undefined => {
    const raw = contextString(node, key);
    if (raw === undefined) return undefined;
    const days = Number(raw);
    if (!Number.isInteger(days) || days < least) throw new Error(`context ${key}: a whole number of days, at least ${least}`);
    return days;
  };
  const audioRetentionDays = retentionDays('audioRetentionDays', 2);
  const transcriptRetentionDays = retentionDays('transcriptRetentionDays', 2);
  const sessionRetentionDays = retentionDays('sessionRetentionDays', 1);
  const retentionSweepSchedule = contextString(node, 'retentionSweepSchedule') ?? 'rate(1 day)';
  const sweepPeriod = schedulePeriodMinutes(retentionSweepSchedule);
  if (!/^(rate|cron)\(.+\)$/.test(retentionSweepSchedule) || (sweepPeriod !== undefined && sweepPeriod > 1440)) {
    throw new Error('context retentionSweepSchedule: an EventBridge rate(...) or cron(...) expression, at least daily');
  }

  // Aurora Serverless v2 takes capacity in steps of 0.5 ACU, from 0 to 256.
  const capacity = (key: string, fallback: number) => {
    const value = Number(contextString(node, key) ?? fallback);
    if (!(value >= 0 && value <= 256 && Number.isInteger(value * 2))) throw new Error(`context ${key}: ACU from 0 to 256 in steps of 0.5`);
    return value;
  };
  const databaseMinCapacity = capacity('databaseMinCapacity', 0);
  const databaseMaxCapacity = capacity('databaseMaxCapacity', 4);
  if (databaseMaxCapacity < Math.max(1, databaseMinCapacity)) {
    throw new Error('context databaseMaxCapacity: at least 1 ACU and at least databaseMinCapacity');
  }
  const databaseSecondsUntilAutoPause = Number(contextString(node, 'databaseSecondsUntilAutoPause') ?? 300);
  if (!Number.isInteger(databaseSecondsUntilAutoPause) || databaseSecondsUntilAutoPause < 300 || databaseSecondsUntilAutoPause > 86400) {
    throw new Error('context databaseSecondsUntilAutoPause: whole seconds from 300 to 86400');
  }

  return {
    snapshotRetentionDays: retention,
    snapshotSchedule,
    authMode,
    ...(jwtIssuer ? { jwtIssuer } : {}),
    jwtAudience,
    corsOrigins,
    transcribeLanguage,
    transcribeLanguageOptions,
    databaseDeletionProtection: protection === 'true',
    transcribeStreamQuota,
    ...(alarmEmail ? { alarmEmail } : {}),
    snapshotStaleMinutes,
    ...(audioRetentionDays === undefined ? {} : { audioRetentionDays }),
    ...(transcriptRetentionDays === undefined ? {} : { transcriptRetentionDays }),
    ...(sessionRetentionDays === undefined ? {} : { sessionRetentionDays }),
    retentionSweepSchedule,
    databaseMinCapacity,
    databaseMaxCapacity,
    databaseSecondsUntilAutoPause,
  };
};
