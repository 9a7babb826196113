// Streaming: generated text pieces pushed from a callback, read as an async iterator of chunks.

/**
 * A queue of values that an async iterator drains, waking when more arrive.
 * @template T
 */
export function channel() {
  /** @type {T[]} */
  const queue = [];
  /** @type {(() => void) | null} */
  let wake = null;
  /** @type {{ error?: unknown } | null} */
  let end = null;
  const poke = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  return {
    push(/** @type {T} */ v) {
      queue.push(v);
      poke();
    },
    close(/** @type {unknown} */ error) {
      end = { error };
      poke();
    },
    /** @returns {AsyncGenerator<T>} */
    async *drain() {
      for (;;) {
        if (queue.length) yield/** @type {T} */ (queue.shift());
        else if (end?.error) throw end.error;
        else if (end) return;
        // Set before awaiting: a push between the checks and here still wakes us.
        else
          await new Promise((resolve) => {
            wake = () => resolve(undefined);
            if (queue.length || end) poke();
          });
      }
    },
  };
}

/**
 * Chunks pushed by a generation, read as an async iterator; when it resolves, `last(out)`'s
 * chunks close the stream. Leaving the loop early (`break`) stops the generation.
 * @template C, O
 * @param {(push: (chunk: C) => void, handle: { stop: boolean }) => Promise<O>} start
 * @param {(out: O) => C[]} last
 * @param {{ stop: boolean }} handle  the generation's stop flag (an AbortSignal may set it too)
 * @returns {AsyncIterable<C>}
 */
export function streamChunks(start, last, handle) {
  /** @type {ReturnType<typeof channel<C>>} */
  const ch = channel();
  let finished = false;
  start((c) => ch.push(c), handle).then(
    (out) => {
      finished = true;
      for (const c of last(out)) ch.push(c);
      ch.close(undefined);
    },
    (error) => {
      finished = true;
      ch.close(error);
    },
  );
  return {
    async *[Symbol.asyncIterator]() {
      try {
        yield* ch.drain();
      } finally {
        if (!finished) handle.stop = true;
      }
    },
  };
}
