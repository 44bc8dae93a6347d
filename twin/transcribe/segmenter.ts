/**
 * Cuts a stream of 16-bit mono samples into utterances at pauses, the way the service closes a final
 * result when the speaker stops: a segment ends after `endSilenceSeconds` of non-speech following speech,
 * or at the first pause after `softMaxSeconds`, or at `hardMaxSeconds` whatever is playing.
 *
 * Speech is told from silence by frame energy (10 ms frames) against a tracked noise floor: the floor
 * follows the quietest frames down at once and drifts up slowly, so a recording's own background level
 * sets the threshold, not an absolute level.
 */

export interface Segment {
  /** Seconds from the start of the stream's audio. */
  start: number;
  end: number;
  samples: Int16Array;
  sampleRate: number;
  /** Whether any frame in it was judged speech: segments without speech are not recognized. */
  hasSpeech: boolean;
}

export interface SegmenterOptions {
  endSilenceSeconds?: number;
  softMaxSeconds?: number;
  hardMaxSeconds?: number;
}

const FRAME_SECONDS = 0.01;
/** Above the floor by this much, a frame is speech. */
const SPEECH_ABOVE_FLOOR_DB = 12;
/** Never call speech what is quieter than this, whatever the floor. */
const MIN_SPEECH_DB = -55;
/** How fast the floor rises while frames are louder than it (dB per frame: 0.5 dB per second). */
const FLOOR_RISE_DB = 0.005;
/** A segment needs this many speech frames to be sent to the recognizer. */
const MIN_SPEECH_FRAMES = 5;

export class Segmenter {
  private readonly frameSamples: number;
  private readonly endSilenceFrames: number;
  private readonly softMaxFrames: number;
  private readonly hardMaxFrames: number;
  /** Samples of the current segment, in pieces. */
  private pieces: Int16Array[] = [];
  private segmentSamples = 0;
  /** Samples of the current segment already judged frame by frame. */
  private judgedSamples = 0;
  private segmentStartSample = 0;
  private speechFrames = 0;
  private silenceRun = 0;
  private floorDb: number | undefined;

  constructor(
    readonly sampleRate: number,
    private readonly onSegment: (segment: Segment) => void,
    options: SegmenterOptions = {},
  ) {
    this.frameSamples = Math.max(1, Math.round(sampleRate * FRAME_SECONDS));
    this.endSilenceFrames = Math.round((options.endSilenceSeconds ?? 1) / FRAME_SECONDS);
    this.softMaxFrames = Math.round((options.softMaxSeconds ?? 15) / FRAME_SECONDS);
    this.hardMaxFrames = Math.round((options.hardMaxSeconds ?? 30) / FRAME_SECONDS);
  }

  /** Seconds of audio taken so far. */
  get seconds(): number {
    return (this.segmentStartSample + this.segmentSamples) / this.sampleRate;
  }

  push(samples: Int16Array): void {
    if (samples.length === 0) return;
    this.pieces.push(samples);
    this.segmentSamples += samples.length;
    while (this.segmentSamples - this.judgedSamples >= this.frameSamples) {
      const frame = this.sampleRange(this.judgedSamples, this.judgedSamples + this.frameSamples);
      this.judgedSamples += this.frameSamples;
      this.judge(frame);
    }
  }

  /** Ends the stream: whatever is held becomes the last segment. */
  flush(): void {
    if (this.segmentSamples > 0) this.cut(this.segmentSamples);
  }

  private judge(frame: Int16Array): void {
    let energy = 0;
    for (const sample of frame) energy += sample * sample;
    const db = 10 * Math.log10(energy / frame.length / (32768 * 32768) + 1e-12);
    this.floorDb = this.floorDb === undefined || db < this.floorDb ? db : this.floorDb + FLOOR_RISE_DB;
    const speech = db > Math.max(MIN_SPEECH_DB, this.floorDb + SPEECH_ABOVE_FLOOR_DB);
    if (speech) {
      this.speechFrames++;
      this.silenceRun = 0;
    } else {
      this.silenceRun++;
    }
    const frames = this.judgedSamples / this.frameSamples;
    const hasSpeech = this.speechFrames >= MIN_SPEECH_FRAMES;
    if (
      (hasSpeech && this.silenceRun >= this.endSilenceFrames) ||
      (frames >= this.softMaxFrames && !speech) ||
      frames >= this.hardMaxFrames
    ) {
      this.cut(this.judgedSamples);
    }
  }

  /** Emits samples [0, at) of the current segment and keeps the rest as the start of the next. */
  private cut(at: number): void {
    const samples = this.sampleRange(0, at);
    const rest = this.sampleRange(at, this.segmentSamples);
    const start = this.segmentStartSample / this.sampleRate;
    const hasSpeech = this.speechFrames >= MIN_SPEECH_FRAMES;
    this.segmentStartSample += at;
    this.pieces = rest.length > 0 ? [rest] : [];
    this.segmentSamples = rest.length;
    this.judgedSamples = 0;
    this.speechFrames = 0;
    this.silenceRun = 0;
    // The rest, not yet judged, is judged by the loop in push as the start of the next segment.
    this.onSegment({ start, end: this.segmentStartSample / this.sampleRate, samples, sampleRate: this.sampleRate, hasSpeech });
  }

  private sampleRange(from: number, to: number): Int16Array {
    const out = new Int16Array(to - from);
    let offset = 0;
    for (const piece of this.pieces) {
      const pieceStart = offset;
      const pieceEnd = offset + piece.length;
      offset = pieceEnd;
      if (pieceEnd <= from) continue;
      if (pieceStart >= to) break;
      const a = Math.max(from, pieceStart);
      const b = Math.min(to, pieceEnd);
      out.set(piece.subarray(a - pieceStart, b - pieceStart), a - from);
    }
    return out;
  }
}
