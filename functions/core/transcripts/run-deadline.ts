/**
 * How long transcribing a chunk takes, against the deadline of the run doing it. Amazon Transcribe
 * Streaming works at about real time, so a run needs the audio's own duration plus a margin.
 */

/** What a run needs besides streaming the audio: reading it, the recognizer's last results after the stream ends, writing the transcript. */
export const TRANSCRIPTION_MARGIN_SECONDS = 10;

/** The run's deadline (ms since the epoch): its Lambda timeout. The lease it takes on the chunk ends there too. */
export interface RunDeadline {
  deadline: number;
  /**
   * The invocation's request id. Lambda retries an asynchronous event under the same id, so a retry may take
   * over the lease of its own earlier attempt, which died (a crash) before the lease ran out.
   */
  runId?: string;
}

export const secondsLeft = ({ deadline }: RunDeadline): number => (deadline - Date.now()) / 1000;

/** Whether the chunk's audio can be streamed and its transcript written before the deadline. */
export const fitsBefore = (chunk: { duration: number }, run: RunDeadline): boolean =>
  chunk.duration + TRANSCRIPTION_MARGIN_SECONDS <= secondsLeft(run);

/** The longest audio a run with `timeoutSeconds` can transcribe. */
export const longestAudioFor = (timeoutSeconds: number): number => Math.max(0, timeoutSeconds - TRANSCRIPTION_MARGIN_SECONDS);
