/** Where an S3 object lives, as `file_path` shows it; apart from the adapter so wiring can answer it without loading the SDK. */
export const s3LocationOf =
  (bucket: string) =>
  (key: string): string =>
    `s3://${bucket}/${key}`;
