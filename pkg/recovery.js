// Device loss, recovered. A GPU device can be lost at any moment (a driver reset, a mobile tab
// sent to the background, GPUDevice.destroy()), and with it the weights, the KV cache and the
// pipelines. The call that was running rejects with a DeviceLost error; the next call first
// opens the model again on a new device, re-reading the weights from the Cache API (the pieces
// a finished download left there, so no network), and then runs. What a chat needs survives on
// the host: OpenAI-style calls carry the whole conversation, which the new engine prefills.
//
// The wasm engine says whether its device is lost (WebEngine.isLost(): wgpu's device-lost
// callback, or a call that saw the device fail), so a loss while idle is recovered before the
// next call instead of failing it.

/**
 * Keeps one wasm decoder usable across device losses. `first` is the loaded WebEngine; `reopen()`
 * loads the same model again (on a new device) and resolves to a new one; `lostError(message)`
 * makes the error a lost call rejects with. Every call on the engine goes through `run(task)`,
 * one at a time (the caller's queue), with `task(web)` getting the current engine.
 * @param {any} first
 * @param {{ reopen: () => Promise<any>, lostError: (message: string) => Error }} options
 */
export function deviceRecovery(first, { reopen, lostError }) {
  let web = first;
  // Taken now: while a generation runs, wasm-bindgen lends the engine to it alone, so asking the
  // engine for its device then would throw; the handle is a separate object.
  let handle = first.deviceHandle();
  let recoveries = 0;
  /** @type {string | null} */
  let lastReason = null;

  /** A fresh engine in place of a lost one; the old one's GPU memory went with its device. */
  async function recover() {
    const fresh = await reopen();
    for (const old of [web, handle]) {
      try {
        old.free();
      } catch {
        // An object already freed has nothing left to free.
      }
    }
    web = fresh;
    handle = fresh.deviceHandle();
    recoveries += 1;
  }

  /** Whether `e` (thrown by a call on `web`) means the device is gone. */
  const isLoss = (/** @type {any} */ e) => e?.name === 'DeviceLost' || safeIsLost(web);

  return {
    /** Frees the engine and the device handle (unload). */
    dispose() {
      handle.free();
      web.free();
    },
    /** Destroys the current device, even in the middle of a call (to test recovery). */
    loseDevice() {
      handle.destroy();
    },
    /** How many times the model was opened again on a new device. */
    get recoveries() {
      return recoveries;
    },
    /** The message of the last loss, or null. */
    get lastLoss() {
      return lastReason;
    },
    /**
     * @template T
     * @param {(web: any) => Promise<T> | T} task
     * @returns {Promise<T>}
     */
    async run(task) {
      if (safeIsLost(web)) await recover();
      try {
        return await task(web);
      } catch (err) {
        const e = /** @type {any} */ (err);
        if (!isLoss(e)) throw e;
        lastReason = /** @type {string} */ (e?.message ?? String(e));
        // A call that failed for any reason on a device that turned out lost reports the loss:
        // it is the cause, and the one that says the next call will work.
        throw lostError(e?.name === 'DeviceLost' ? lastReason : `the GPU device was lost during the call (${lastReason})`);
      }
    },
  };
}

/** `web.isLost()`, false for an engine that cannot say (freed, or from an older build). */
function safeIsLost(/** @type {any} */ web) {
  try {
    return Boolean(web.isLost?.());
  } catch {
    return false;
  }
}
