/**
 * s3rver on loopback, in its own process, for the twin and the S3 adapter's tests: its ContinuationToken
 * cipher (DES) needs `--openssl-legacy-provider`, which this process gets and the caller may not.
 * Prints `{"port": N}` once listening. Usage: node --openssl-legacy-provider s3rver-server.mjs <dir> <bucket> [port]
 */
import S3rver from 's3rver';

const [directory, bucket, port = '0'] = process.argv.slice(2);
const server = new S3rver({
  address: '127.0.0.1',
  port: Number(port),
  silent: true,
  directory,
  configureBuckets: [{ name: bucket }],
});

/**
 * s3rver predates S3's conditional writes and ignores `If-None-Match: *` on PUT. This adds S3's
 * behaviour in front of it: 412 PreconditionFailed when the key exists, checked and written one
 * request at a time per key, as S3 does atomically.
 */
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

/**
 * s3rver lists in directory-walk order ('a/1' before 'a-b'); S3 lists in UTF-8 byte order. Without a
 * delimiter (the adapter never sends one) this lists everything under the prefix and pages it in S3's order.
 */
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
