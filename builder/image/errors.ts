/** The base image is not laid out as expected, or writing into it failed. Nothing partial is kept. */
export class ImageLayoutError extends Error {
  override name = 'ImageLayoutError';
  constructor(readonly image: string, readonly problem: string, readonly hint: string, options?: ErrorOptions) {
    super(`${image}: ${problem}. ${hint}`, options);
  }
}

/** A download failed after its retries. */
export class DownloadError extends Error {
  override name = 'DownloadError';
  /** `without`: how to do without this download (an offline site), said last. */
  constructor(readonly url: string, readonly reason: string, options?: ErrorOptions & { readonly without?: string }) {
    super(`Could not download ${url}: ${reason}. Check the network (or a proxy), then run the same command again: it resumes.`
      + (options?.without ? ` ${options.without}` : ''), options);
  }
}

/** A checksum or signature did not match: the file was removed and never used. */
export class VerificationError extends Error {
  override name = 'VerificationError';
  constructor(readonly file: string, readonly problem: string, options?: ErrorOptions) {
    super(`${file}: ${problem}`, options);
  }
}
