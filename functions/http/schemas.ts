/** Request schemas shared by several routes. */
import * as z from '../validation';
import { SessionId } from '../core/identifiers';

export const SessionPath = z.object({ session_id: SessionId });

/** Free-form JSON kept with a row; bounded so a row stays well under the RDS Data API's 64 KB limit. */
export const Metadata = z
  .record(z.string(), z.unknown())
  .check(z.refine((value) => Buffer.byteLength(JSON.stringify(value)) <= 8192, 'metadata must serialize to at most 8 KiB of JSON'));

/** A text field bounded by its UTF-8 size, which is what the database and the Data API count. */
export const boundedText = (maxBytes: number) =>
  z.string().check(z.refine((value) => Buffer.byteLength(value) <= maxBytes, `must be at most ${maxBytes} bytes of UTF-8`));
