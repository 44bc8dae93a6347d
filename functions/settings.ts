/**
 * The service's settings, read from the environment in one place and checked with zod, so a bad value
 * stops the process at start with a clear message instead of failing a request later.
 */
import { z } from 'zod';

const seconds = z.coerce.number().int().positive();

const SettingsSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  HOST: z.string().default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('./.data'),
  SNAPSHOT_INTERVAL_SECONDS: seconds.default(60),
  SNAPSHOT_RETENTION_DAYS: z.coerce.number().positive().default(7),
  /** Unset: `scheduler` locally, `bucket-lifecycle` on Lambda (functions/config.ts). */
  SNAPSHOT_RETENTION_BY: z.enum(['scheduler', 'bucket-lifecycle']).optional(),
  DATABASE_URL: z.string().min(1).optional(),
  TRANSCRIBER: z.enum(['pocketsphinx', 'aws-transcribe']).optional(),
  TRANSCRIBE_LANGUAGE: z.string().default('en-US'),
  /** Comma-separated language codes (two or more): Amazon Transcribe identifies the language among them. */
  TRANSCRIBE_LANGUAGE_OPTIONS: z.string().optional(),
  LOG_LEVEL: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT']).default('INFO'),
  MAX_AUDIO_BYTES: z.coerce.number().int().positive().default(4 * 1024 * 1024),
  /** Set by the Lambda runtime; tells AWS wiring from local wiring. */
  AWS_LAMBDA_FUNCTION_NAME: z.string().optional(),
  BUCKET_NAME: z.string().optional(),
  DB_CLUSTER_ARN: z.string().optional(),
  DB_SECRET_ARN: z.string().optional(),
  DB_NAME: z.string().default('interview_ops'),
  /** Unset: migrate at start locally; on Lambda the deploy-time trigger migrates instead (functions/config.ts). */
  RUN_MIGRATIONS_AT_START: z.stringbool().optional(),
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
