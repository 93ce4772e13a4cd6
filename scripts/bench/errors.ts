/** A failure the benchmark explains in its message: reported without a stack trace. */
export class BenchError extends Error {
  override name = 'BenchError';
}
