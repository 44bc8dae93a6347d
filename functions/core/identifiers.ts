import * as z from '../validation';

/** Identifier grammar from ARCHITECTURE.md. Every id is checked here before it reaches a key, a path or a query. */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
export const CHUNK_ID_PATTERN = /^[0-9]{1,18}$/;
export const SNAPSHOT_ID_PATTERN = /^snapshot_[0-9]{10}$/;

export const SessionId = z
  .string()
  .check(z.regex(SESSION_ID_PATTERN, 'session_id must be 1-128 letters, digits, "_" or "-", starting with a letter or digit'));
export const ChunkId = z.string().check(z.regex(CHUNK_ID_PATTERN, 'chunk_id must be a decimal number'));
export const SnapshotId = z.string().check(z.regex(SNAPSHOT_ID_PATTERN, 'snapshot_id must be "snapshot_" and 10 digits of Unix seconds'));
/** Row ids of code_history and execution_results: decimal digits, carried as strings (PostgreSQL bigint). */
export const RowId = z.pipe(z.union([z.string().check(z.regex(CHUNK_ID_PATTERN)), z.int().check(z.nonnegative())]), z.transform(String));

export type SessionId = z.infer<typeof SessionId>;
export type ChunkId = z.infer<typeof ChunkId>;
export type SnapshotId = z.infer<typeof SnapshotId>;
