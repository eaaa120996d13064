/** The log cannot be built in partitions (an upcaster moves events between streams): the replay
 * falls back to the live projection. */
export class BulkBuildUnsupportedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BulkBuildUnsupportedError';
  }
}
