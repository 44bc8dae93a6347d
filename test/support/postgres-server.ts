/** The throwaway PostgreSQL server lives with the twin, which runs one too. */
export * from '../../twin/postgres-server';
