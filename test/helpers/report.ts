/**
 * Prints a measured figure of a fault or fuzz test (checks completed, lost, wrong; cases run; durations)
 * so that a run's output documents what the test showed, not only that it passed.
 */
export function reportFigure(line: string): void {
  process.stdout.write(`[figures] ${line}\n`);
}
