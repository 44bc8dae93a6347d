/**
 * Growth: how many object-store requests GET /transcripts makes with 1,000 transcripts, and GET
 * /sandbox_snapshot and GET /sandbox_snapshots make with 10,000 retained snapshots (a week at one a
 * minute). Requests are counted at the port, through the same core functions the handlers call, over the
 * directory store; S3 would receive the same calls. Counts, not times: they do not depend on the machine.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DirectoryObjectStore } from '../functions/adapters/object-store/directory';
import { openPgliteSql } from '../functions/adapters/sql/pglite';
import { snapshotIdFor, snapshotKeyFor, transcriptKeyFor } from '../functions/core/keys';
import { getLatestSnapshot, listSnapshots } from '../functions/core/snapshots/read-snapshots';
import { listTranscriptFiles } from '../functions/core/transcripts/transcript-files';
import { countingObjectStore } from '../test/support/counting-object-store';
import { type Comparison, compare, type Progress } from './support/report';

const TRANSCRIPTS = 1000;

const totalRequests = (counts: Record<string, number>) => Object.values(counts).reduce((sum, count) => sum + count, 0);
const SNAPSHOTS = 10_000;

const writeObject = async (root: string, key: string, body: string) => {
  const path = join(root, key);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, body);
};

export const runGrowthBenchmark = async (progress: Progress): Promise<Comparison[]> => {
  const root = await mkdtemp(join(tmpdir(), 'interview-ops-growth-'));
  const sql = await openPgliteSql();
  try {
    progress(`growth: writing ${TRANSCRIPTS} transcripts and ${SNAPSHOTS} snapshots in the store layout`);
    for (let chunk = 1; chunk <= TRANSCRIPTS; chunk++)
      await writeObject(root, transcriptKeyFor('growth', String(chunk)), `words of chunk ${chunk}`);
    const now = new Date();
    for (let minute = 0; minute < SNAPSHOTS; minute++) {
      const id = snapshotIdFor(new Date(now.getTime() - minute * 60_000));
      await writeObject(root, snapshotKeyFor(id), JSON.stringify({ snapshot_id: id, timestamp: '', data: {}, metadata: {} }));
    }
    const store = countingObjectStore(await new DirectoryObjectStore(root).open());
    const clock = { now: () => new Date() };
    const results: Comparison[] = [];

    progress('growth: GET /transcripts/{session_id} with 1,000 transcripts');
    const listed = await listTranscriptFiles({ sql, store }, 'growth');
    if (listed.total_count !== TRANSCRIPTS) throw new Error(`listed ${listed.total_count} transcripts`);
    const transcriptRequests = totalRequests(store.counts);
    results.push(
      compare({
        benchmark: 'Growth GET /transcripts/{session_id}',
        metric: `store requests for ${TRANSCRIPTS} transcripts`,
        unit: 'requests',
        ours: transcriptRequests,
        target: 'one list per 1,000 keys',
        check: ({ ours }) => ours === Math.ceil(TRANSCRIPTS / 1000) && store.counts.list === ours,
        runs: 1,
        note: JSON.stringify(store.counts),
      }),
    );

    store.reset();
    progress('growth: GET /sandbox_snapshot with 10,000 snapshots');
    await getLatestSnapshot({ store, clock });
    const latestRequests = totalRequests(store.counts);
    results.push(
      compare({
        benchmark: 'Growth GET /sandbox_snapshot',
        metric: `store requests with ${SNAPSHOTS} snapshots`,
        unit: 'requests',
        ours: latestRequests,
        target: 'a few (<= 4)',
        check: ({ ours }) => ours <= 4,
        runs: 1,
        note: JSON.stringify(store.counts),
      }),
    );

    store.reset();
    progress('growth: GET /sandbox_snapshots with 10,000 snapshots');
    const listing = await listSnapshots({ store }, { limit: 100 });
    if (listing.total_count !== SNAPSHOTS) throw new Error(`listed ${listing.total_count} snapshots`);
    results.push(
      compare({
        benchmark: 'Growth GET /sandbox_snapshots',
        metric: `store requests with ${SNAPSHOTS} snapshots`,
        unit: 'requests',
        ours: totalRequests(store.counts),
        target: 'one list per 1,000 keys',
        check: ({ ours }) => ours === Math.ceil(SNAPSHOTS / 1000) && store.counts.list === ours,
        runs: 1,
        note: JSON.stringify(store.counts),
      }),
    );
    return results;
  } finally {
    await sql.close();
    await rm(root, { recursive: true, force: true });
  }
};
