import type { Transcriber } from '../core/ports/transcriber';

/**
 * A Transcriber that opens its engine on first use. On Lambda every function builds the same
 * dependencies, but only the transcription paths call the recognizer: the others should not pay for
 * loading its SDK client at cold start.
 */
export const deferredTranscriber = (
  identity: Pick<Transcriber, 'engine' | 'acceptedFormats'>,
  open: () => Promise<Transcriber>,
): Transcriber => {
  let opened: Promise<Transcriber> | undefined;
  const engine = () =>
    (opened ??= open().catch((error: unknown) => {
      opened = undefined;
      throw error;
    }));
  return {
    engine: identity.engine,
    acceptedFormats: identity.acceptedFormats,
    transcribe: async (audio) => (await engine()).transcribe(audio),
    close: async () => {
      if (opened) await (await opened).close();
    },
  };
};
