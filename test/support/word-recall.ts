/** How much of what was said a transcript holds: the measure the browser-format tests compare paths by. */

export const words = (text: string) => text.toLowerCase().match(/[a-z']+/g) ?? [];

/** The share of the spoken words found in the transcript, each occurrence matched at most once. */
export const wordRecall = (transcript: string, truth: string): number => {
  const left = new Map<string, number>();
  for (const word of words(transcript)) left.set(word, (left.get(word) ?? 0) + 1);
  const spoken = words(truth);
  let found = 0;
  for (const word of spoken) {
    const count = left.get(word) ?? 0;
    if (count > 0) {
      found++;
      left.set(word, count - 1);
    }
  }
  return found / spoken.length;
};
