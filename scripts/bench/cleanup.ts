/**
 * Teardown steps run in reverse order of setup, every one of them even when an earlier one
 * fails, so a benchmark that dies halfway still closes its servers and drops its database.
 */
export class Cleanup {
  #steps: Array<() => Promise<void>> = [];

  defer(step: () => Promise<void>): void {
    this.#steps.push(step);
  }

  /** Runs the steps, last deferred first; the first failure is rethrown after all have run. */
  async run(): Promise<void> {
    const failures: unknown[] = [];
    for (const step of this.#steps.reverse()) {
      try {
        await step();
      } catch (err) {
        failures.push(err);
      }
    }
    this.#steps = [];
    if (failures.length) throw failures[0];
  }
}
