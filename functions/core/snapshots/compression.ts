/**
 * Snapshot objects are stored gzipped (issue 16: row JSON compresses several times over, and storage is
 * bounded by the database's size). Objects written before that are plain JSON and still read: a piece by
 * its key's extension, a manifest by its format (manifest.ts).
 */
import { promisify } from 'node:util';
import { gunzip as gunzipCallback, gzip as gzipCallback } from 'node:zlib';

const gzipAsync = promisify(gzipCallback);
const gunzipAsync = promisify(gunzipCallback);

/** Content type of every gzipped snapshot object; the key or the manifest format says what is inside. */
export const GZIP_CONTENT_TYPE = 'application/gzip';

/** The extension of a gzipped piece's key. */
export const GZIP_EXTENSION = '.gz';

/** Gzips in libuv's thread pool, so a run compresses its pieces beside its database reads. */
export const gzipText = async (text: string | Uint8Array): Promise<Buffer> => gzipAsync(text);

export const gunzipText = async (body: Uint8Array): Promise<string> => (await gunzipAsync(body)).toString('utf8');

/** The JSON text of a stored object: gunzipped when `gzipped`, else as stored. */
export const storedText = async (body: Uint8Array, gzipped: boolean): Promise<string> =>
  gzipped ? gunzipText(body) : Buffer.from(body).toString('utf8');
