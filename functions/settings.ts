/**
 * The service's settings, read from the environment in one place and checked with zod, so a bad value
 * stops the process at start with a clear message instead of failing a request later.
 */
import { parseCorsOrigins } from './http/cors';
import * as z from './validation';

const seconds = z.coerce.number().check(z.int(), z.positive());

const SettingsSchema = z.object({
  PORT: z._default(z.coerce.number().check(z.int(), z.minimum(0), z.maximum(65535)), 8000),
  HOST: z._default(z.string(), '127.0.0.1'),
  DATA_DIR: z._default(z.string().check(z.minLength(1)), './.data'),
  SNAPSHOT_INTERVAL_SECONDS: z._default(seconds, 60),
  SNAPSHOT_RETENTION_DAYS: z._default(z.coerce.number().check(z.positive()), 7),
  /** Unset: `scheduler` locally, `bucket-lifecycle` on Lambda (functions/config.ts). */
  SNAPSHOT_RETENTION_BY: z.optional(z.enum(['scheduler', 'bucket-lifecycle'])),
  /** Retention in days, unset: kept until erased (functions/core/lifecycle/retention-sweep.ts). */
  AUDIO_RETENTION_DAYS: z.optional(z.coerce.number().check(z.positive())),
  TRANSCRIPT_RETENTION_DAYS: z.optional(z.coerce.number().check(z.positive())),
  SESSION_RETENTION_DAYS: z.optional(z.coerce.number().check(z.positive())),
  /** Local retention sweep schedule; EventBridge runs it daily on AWS. */
  RETENTION_SWEEP_INTERVAL_SECONDS: z._default(seconds, 3600),
  DATABASE_URL: z.optional(z.string().check(z.minLength(1))),
  TRANSCRIBER: z.optional(z.enum(['pocketsphinx', 'aws-transcribe'])),
  TRANSCRIBE_LANGUAGE: z._default(z.string(), 'en-US'),
  /** Comma-separated language codes (two or more): Amazon Transcribe identifies the language among them. */
  TRANSCRIBE_LANGUAGE_OPTIONS: z.optional(z.string()),
  /** Web origins the local gateway answers CORS for: a comma list, or `*` (functions/http/cors.ts). */
  CORS_ORIGINS: z.optional(
    z.string().check(
      z.superRefine((value, context) => {
        try {
          parseCorsOrigins(value);
        } catch (error) {
          context.addIssue({ code: 'custom', message: (error as Error).message, input: value });
        }
      }),
    ),
  ),
  LOG_LEVEL: z._default(z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT']), 'INFO'),
  MAX_AUDIO_BYTES: z._default(z.coerce.number().check(z.int(), z.positive()), 4 * 1024 * 1024),
  /**
   * Longest audio chunk accepted, in seconds. Amazon Transcribe works at about real time, so the
   * inserted-chunk function's timeout (functions/routes.ts) must exceed this plus TRANSCRIPTION_MARGIN_SECONDS.
   */
  MAX_AUDIO_SECONDS: z._default(z.coerce.number().check(z.positive()), 600),
  /** Longest chunk POST /process_chunk transcribes: its 29 s route timeout, less the run's margin. */
  MAX_ON_DEMAND_AUDIO_SECONDS: z._default(z.coerce.number().check(z.positive()), 15),
  /** Set by the Lambda runtime; tells AWS wiring from local wiring. */
  AWS_LAMBDA_FUNCTION_NAME: z.optional(z.string()),
  BUCKET_NAME: z.optional(z.string()),
  DB_CLUSTER_ARN: z.optional(z.string()),
  DB_SECRET_ARN: z.optional(z.string()),
  /** The migration function only: the secrets of the app and reader logins it provisions (functions/core/database-logins.ts). */
  DB_APP_SECRET_ARN: z.optional(z.string()),
  DB_READER_SECRET_ARN: z.optional(z.string()),
  DB_NAME: z._default(z.string(), 'interview_ops'),
  /** Unset: migrate at start locally; on Lambda the deploy-time trigger migrates instead (functions/config.ts). */
  RUN_MIGRATIONS_AT_START: z.optional(z.stringbool()),
});

export type Settings = z.output<typeof SettingsSchema>;

const blankAsUnset = (env: NodeJS.ProcessEnv) =>
  Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));

export const readSettings = (env: NodeJS.ProcessEnv = process.env): Settings => {
  const parsed = SettingsSchema.safeParse({
    ...blankAsUnset(env),
    LOG_LEVEL: env.LOG_LEVEL?.toUpperCase() || undefined,
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`Invalid settings: ${problems}`);
  }
  return parsed.data;
};
