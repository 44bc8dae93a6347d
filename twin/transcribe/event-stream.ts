/**
 * The AWS event stream framing both directions of StartStreamTranscription use
 * (application/vnd.amazon.eventstream): a 12-byte prelude (total length, headers length, CRC), headers,
 * a body and a trailing CRC, decoded and encoded by @smithy/eventstream-codec.
 *
 * What the SDK sends: each AudioEvent is encoded as a message (`:message-type` event, `:event-type`
 * AudioEvent, body the audio bytes) and then wrapped in a signed envelope whose headers are `:date` and
 * `:chunk-signature` (the chained SigV4 signature) and whose body is the inner message. The stream ends
 * with an envelope whose body is empty. The chain of signatures is not verified here: the gate checks the
 * initial request's Authorization header, as docs/twin.md assigns.
 */
import { EventStreamCodec, type Message, type MessageHeaders } from '@smithy/eventstream-codec';

const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'),
  (text) => Buffer.from(text, 'utf8'),
);

/** The largest message accepted: the service's limit on an audio event is far below this. */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export class EventStreamError extends Error {
  override readonly name = 'EventStreamError';
}

/** Splits a byte stream into whole event stream messages, whatever the sizes of the pieces fed to it. */
export class MessageSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  /** Returns the messages completed by `bytes`; throws EventStreamError on a malformed frame. */
  push(bytes: Uint8Array): Message[] {
    this.pending.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    this.pendingBytes += bytes.byteLength;
    const messages: Message[] = [];
    for (;;) {
      if (this.pendingBytes < 4) break;
      const joined = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
      this.pending = [joined];
      const total = joined.readUInt32BE(0);
      if (total < 16 || total > MAX_MESSAGE_BYTES) throw new EventStreamError(`An event stream message of ${total} bytes is not valid`);
      if (joined.length < total) break;
      try {
        messages.push(codec.decode(joined.subarray(0, total)));
      } catch (error) {
        throw new EventStreamError(`An event stream message could not be decoded: ${(error as Error).message}`);
      }
      const rest = joined.subarray(total);
      this.pending = rest.length > 0 ? [rest] : [];
      this.pendingBytes = rest.length;
    }
    return messages;
  }
}

const headerString = (headers: MessageHeaders, name: string): string | undefined => {
  const header = headers[name];
  return header && header.type === 'string' ? header.value : undefined;
};

/** One AudioEvent's audio, the end of the audio, or another event the service does not take. */
export type InboundEvent = { kind: 'audio'; chunk: Uint8Array } | { kind: 'end' } | { kind: 'other'; eventType: string };

/**
 * Reads one message of the request stream: a signed envelope around an event (what the SDK sends) or,
 * from unsigned clients, the event itself. An empty envelope or an empty AudioEvent ends the audio.
 */
export const readInboundMessage = (message: Message): InboundEvent => {
  let event = message;
  if (headerString(message.headers, ':message-type') === undefined) {
    if (message.body.byteLength === 0) return { kind: 'end' };
    try {
      event = codec.decode(message.body);
    } catch (error) {
      throw new EventStreamError(`A signed event's payload is not an event stream message: ${(error as Error).message}`);
    }
  }
  const messageType = headerString(event.headers, ':message-type');
  const eventType = headerString(event.headers, ':event-type') ?? '';
  if (messageType !== 'event') return { kind: 'other', eventType: `${messageType ?? 'unknown'}:${eventType}` };
  if (eventType !== 'AudioEvent') return { kind: 'other', eventType };
  return event.body.byteLength === 0 ? { kind: 'end' } : { kind: 'audio', chunk: event.body };
};

const stringHeader = (value: string) => ({ type: 'string' as const, value });

/** An event of the response stream, its payload serialized as JSON (restJson1). */
export const encodeEvent = (eventType: string, payload: unknown): Uint8Array =>
  codec.encode({
    headers: {
      ':message-type': stringHeader('event'),
      ':event-type': stringHeader(eventType),
      ':content-type': stringHeader('application/json'),
    },
    body: Buffer.from(JSON.stringify(payload), 'utf8'),
  });

/** A modeled exception inside the response stream (the SDK throws it from the iterator, by name). */
export const encodeException = (exceptionType: string, message: string): Uint8Array =>
  codec.encode({
    headers: {
      ':message-type': stringHeader('exception'),
      ':exception-type': stringHeader(exceptionType),
      ':content-type': stringHeader('application/json'),
    },
    body: Buffer.from(JSON.stringify({ Message: message }), 'utf8'),
  });

/** An AudioEvent as the SDK encodes it before signing (what unsigned clients send; the tests use it). */
export const encodeAudioEvent = (chunk: Uint8Array): Uint8Array =>
  codec.encode({
    headers: {
      ':message-type': stringHeader('event'),
      ':event-type': stringHeader('AudioEvent'),
      ':content-type': stringHeader('application/octet-stream'),
    },
    body: chunk,
  });
