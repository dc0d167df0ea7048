/** Bad flags or arguments: exit 2 with the usage hint. */
export class UsageError extends Error {
  override name = 'UsageError';
}
