/**
 * Preload (node --import) for twin functions: `*.localhost` resolves to 127.0.0.1, as browsers and
 * systemd-resolved do but this machine's resolver does not, so the AWS SDK can reach the twin S3 in
 * virtual-host style (http://<bucket>.localhost:<port>). Path: twin/lambda/preloads.ts exports it.
 */
import dns from 'node:dns';

const isLocal = (hostname) => typeof hostname === 'string' && (hostname === 'localhost' || hostname.endsWith('.localhost'));
const answer = (options) => {
  const family = typeof options === 'number' ? options : options?.family;
  const address = family === 6 ? { address: '::1', family: 6 } : { address: '127.0.0.1', family: 4 };
  return typeof options === 'object' && options?.all ? [address] : address;
};

const originalLookup = dns.lookup;
dns.lookup = function lookup(hostname, options, callback) {
  if (!isLocal(hostname)) return originalLookup.call(this, hostname, options, callback);
  const cb = typeof options === 'function' ? options : callback;
  const opts = typeof options === 'function' ? undefined : options;
  const result = answer(opts);
  process.nextTick(() => (Array.isArray(result) ? cb(null, result) : cb(null, result.address, result.family)));
  return {};
};

const originalPromiseLookup = dns.promises.lookup;
dns.promises.lookup = async function lookup(hostname, options) {
  if (!isLocal(hostname)) return originalPromiseLookup.call(this, hostname, options);
  return answer(options);
};
