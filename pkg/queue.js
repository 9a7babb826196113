// One call at a time into a wasm model: a generation borrows the model mutably across awaits,
// so a second call started meanwhile would fail inside wasm-bindgen. Calls wait their turn.

import { abortable, throwIfAborted } from './errors.js';

export function serialQueue() {
  /** @type {Promise<unknown>} */
  let tail = Promise.resolve();
  return {
    /**
     * Runs `task` after the calls queued before it. With `signal`, the returned promise rejects
     * with AbortError as soon as it fires; a task that has not started yet is then skipped.
     * @template T
     * @param {() => Promise<T> | T} task
     * @param {AbortSignal} [signal]
     * @returns {Promise<T>}
     */
    run(task, signal) {
      const job = tail.then(() => {
        throwIfAborted(signal);
        return task();
      });
      tail = job.catch(() => {});
      return abortable(job, signal);
    },
    /** Resolves when every queued call has settled. */
    idle: () => tail,
  };
}
