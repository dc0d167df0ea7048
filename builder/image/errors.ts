/** The base image is not laid out as expected, or writing into it failed. Nothing partial is kept. */
export class ImageLayoutError extends Error {
  override name = 'ImageLayoutError';
  constructor(readonly image: string, readonly problem: string, readonly hint: string, options?: ErrorOptions) {
    super(`${image}: ${problem}. ${hint}`, options);
  }
}

/** An external tool (mcopy, debugfs, resize2fs...) failed. */
export class CommandFailed extends Error {
  override name = 'CommandFailed';
  constructor(readonly command: string, readonly exitCode: number | undefined, readonly stderr: string, options?: ErrorOptions) {
    super(`${command} failed with exit code ${exitCode ?? 'none (signal)'}: ${stderr.trim().split('\n').pop() ?? ''}`, options);
  }
}
