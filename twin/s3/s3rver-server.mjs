/**
 * s3rver for the twin, in its own process (its ContinuationToken cipher needs --openssl-legacy-provider).
 * Prints `{"port": N}` once listening on 127.0.0.1. Usage:
 *   node --openssl-legacy-provider s3rver-server.mjs <dir> <bucket> [port]
 * Two fixes bring it closer to S3 (as test/adapters/s3rver/server.mjs does for the adapter tests):
 * conditional writes (If-None-Match: *) and listings in UTF-8 byte order.
 */
import S3rver from 's3rver';

const [directory, bucket, port = '0'] = process.argv.slice(2);
const server = new S3rver({ address: '127.0.0.1', port: Number(port), silent: true, directory, configureBuckets: [{ name: bucket }] });

const keyLocks = new Map();
const conditionalWrites = async (ctx, next) => {
  const isWrite = ctx.method === 'PUT' || (ctx.method === 'POST' && 'uploadId' in ctx.query);
  const isPart = ctx.method === 'PUT' && 'partNumber' in ctx.query;
  if (!isWrite || isPart || ctx.get('if-none-match') !== '*') return next();
  const [, bucketName, ...keyParts] = ctx.path.split('/');
  const key = decodeURIComponent(keyParts.join('/'));
  const lockKey = `${bucketName}/${key}`;
  const previous = keyLocks.get(lockKey) ?? Promise.resolve();
  let release;
  const current = new Promise((resolve) => (release = resolve));
  const chained = previous.then(() => current);
  keyLocks.set(lockKey, chained);
  await previous;
  try {
    if (await server.store.existsObject(bucketName, key)) {
      ctx.status = 412;
      ctx.type = 'application/xml';
      ctx.body =
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code>' +
        '<Message>At least one of the pre-conditions you specified did not hold</Message>' +
        '<Condition>If-None-Match</Condition></Error>';
      return;
    }
    await next();
  } finally {
    release();
    if (keyLocks.get(lockKey) === chained) keyLocks.delete(lockKey);
  }
};
server.middleware.unshift(conditionalWrites);

const walkOrderList = server.store.listObjects.bind(server.store);
const byteOrder = (a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key));
server.store.listObjects = async (bucketName, options) => {
  if (options.delimiter) return walkOrderList(bucketName, options);
  const { startAfter = '', maxKeys = Infinity } = options;
  const everything = await walkOrderList(bucketName, { ...options, startAfter: '', maxKeys: Infinity });
  const after = everything.objects.filter((object) => Buffer.compare(Buffer.from(object.key), Buffer.from(startAfter)) > 0).sort(byteOrder);
  return { ...everything, objects: after.slice(0, maxKeys), isTruncated: after.length > maxKeys };
};

const { port: listening } = await server.run();
process.stdout.write(`${JSON.stringify({ port: listening })}\n`);
process.on('SIGTERM', () => server.close().finally(() => process.exit(0)));
