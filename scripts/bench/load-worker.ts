import { parentPort, workerData } from 'node:worker_threads';
import { type LoadOptions, measure } from './load.ts';
import { type LoadPlan, stepsFor } from './requests.ts';

/** The worker thread behind `measureInWorker`: runs one measurement and posts it back. */
const { plan, options } = workerData as { plan: LoadPlan; options: LoadOptions };
parentPort?.postMessage(await measure(stepsFor(plan, options.concurrency), options));
