/**
 * A real object store with a fault that can be armed: the next streamed upload under a prefix breaks
 * after some pieces, as an S3 upload does when its connection resets mid-body. The inner store sees a
 * body that errors part way, so whatever it does with a half-received upload is what gets tested.
 * Whole-object puts under the prefix count as one piece each: after `afterPieces` of them, the next fails.
 */
import { unreachableDependency } from '../../../functions/core/errors';
import type { ObjectBody, ObjectStore, PutOptions } from '../../../functions/core/ports/object-store';

export interface ArmedFault {
  prefix: string;
  /** Pieces passed through before the body breaks. */
  afterPieces: number;
  error: Error;
}

export interface FailingObjectStore extends ObjectStore {
  /** Breaks the next putStream under `fault.prefix`, or the put after `afterPieces` puts there; resolves when it has broken. */
  failNextUpload(fault: ArmedFault): Promise<{ piecesPassed: number }>;
}

export const connectionReset = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

export const failingObjectStore = (inner: ObjectStore): FailingObjectStore => {
  let armed: (ArmedFault & { broke(pieces: number): void }) | undefined;

  async function* breaking(body: AsyncIterable<ObjectBody> | Iterable<ObjectBody>, fault: NonNullable<typeof armed>) {
    let passed = 0;
    for await (const piece of body) {
      if (passed === fault.afterPieces) {
        fault.broke(passed);
        throw fault.error;
      }
      passed += 1;
      yield piece;
    }
    // The body ended before the fault point: the upload goes through and the fault stays armed.
    armed = fault;
  }

  return {
    failNextUpload: (fault) =>
      new Promise((resolve) => {
        armed = { ...fault, broke: (piecesPassed) => resolve({ piecesPassed }) };
      }),
    putStream: (key: string, body: AsyncIterable<ObjectBody>, options?: PutOptions) => {
      const fault = armed;
      if (!fault || !key.startsWith(fault.prefix)) return inner.putStream(key, body, options);
      armed = undefined;
      return inner.putStream(key, breaking(body, fault), options);
    },
    put: (key, body, options) => {
      const fault = armed;
      if (!fault || !key.startsWith(fault.prefix)) return inner.put(key, body, options);
      if (fault.afterPieces > 0) {
        armed = { ...fault, afterPieces: fault.afterPieces - 1, broke: (passed) => fault.broke(passed + 1) };
        return inner.put(key, body, options);
      }
      armed = undefined;
      fault.broke(0);
      // As a store adapter reports a connection that broke mid-request.
      return Promise.reject(unreachableDependency(fault.error));
    },
    get: (...args) => inner.get(...args),
    head: (...args) => inner.head(...args),
    getRange: (...args) => inner.getRange(...args),
    getStream: (...args) => inner.getStream(...args),
    presignPut: (...args) => inner.presignPut(...args),
    presignGet: (...args) => inner.presignGet(...args),
    list: (...args) => inner.list(...args),
    delete: (...args) => inner.delete(...args),
    locationOf: (key) => inner.locationOf(key),
    ping: () => inner.ping(),
  };
};
