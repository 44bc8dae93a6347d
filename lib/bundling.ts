/**
 * How every function is built: esbuild on this machine (no Docker), one ESM file per handler, for the
 * Lambda Node.js runtime. The local database engines stay out: functions/config.ts loads them only
 * when no cluster is configured, which on Lambda never happens.
 */
import { join } from 'node:path';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { databaseLoginOf, type FunctionNeeds, usesBucket } from './function-needs';

export const FUNCTION_RUNTIME = Runtime.NODEJS_24_X;
export const FUNCTION_ARCHITECTURE = Architecture.ARM_64;

/** Some CommonJS dependencies call require() for Node built-ins; an ESM bundle has none without this. */
export const REQUIRE_SHIM =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

/** The local database engines: never bundled, and never imported on Lambda (see adapterDefinesFor). */
export const LOCAL_ENGINE_MODULES = ['@electric-sql/pglite', 'pg', 'pg-native'];

export const bundlingOptions = (extra: Partial<BundlingOptions> = {}): BundlingOptions => ({
  format: OutputFormat.ESM,
  target: 'node24',
  banner: REQUIRE_SHIM,
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  externalModules: LOCAL_ENGINE_MODULES,
  forceDockerBundling: false,
  ...extra,
});

/**
 * esbuild defines that leave out the adapters a function never uses (functions/config.ts): the local
 * ones everywhere, and the S3 and Transcribe clients where its needs do not call for them. Parsing the
 * bundle is most of a cold start. The same needs grant the IAM
 * permissions, so a function without S3 in its bundle has no S3 permission either.
 */
export const adapterDefinesFor = (needs: FunctionNeeds): Record<string, string> => ({
  // On Lambda the database is Aurora through the Data API and transcription Amazon Transcribe.
  'process.env.INTERVIEW_OPS_OMIT_LOCAL_ADAPTERS': '"true"',
  ...(usesBucket(needs) ? {} : { 'process.env.INTERVIEW_OPS_OMIT_S3': '"true"' }),
  ...(needs.transcribe ? {} : { 'process.env.INTERVIEW_OPS_OMIT_TRANSCRIBE': '"true"' }),
  // Only the owner (the migrator) reads secrets itself, to set the other logins' passwords.
  ...(databaseLoginOf(needs) === 'owner' ? {} : { 'process.env.INTERVIEW_OPS_OMIT_SECRETS': '"true"' }),
});

/**
 * The migration function reads db/migrations/*.sql from `migrations/` beside its code (db/migrations.ts
 * resolves the folder from import.meta.url), so the files are copied into its bundle.
 */
export const withMigrationFiles = (projectRoot: string): Partial<BundlingOptions> => ({
  commandHooks: {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (_inputDir: string, outputDir: string) => [
      `cp -r "${join(projectRoot, 'db', 'migrations')}" "${join(outputDir, 'migrations')}"`,
    ],
  },
});
