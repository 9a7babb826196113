//! Device loss, recovered.
//!
//! A GPU device can be lost at any moment: a driver reset, the OS taking the GPU back, or
//! `device.destroy()`. Everything on it goes (weights, KV cache, pipelines), and the call that was
//! running fails with `GpuError::DeviceLost` (`gpu::error` and `gpu::dispatch` make sure it fails
//! rather than waits, and that every later call on that device fails fast). What survives is on
//! the host: where the weights came from, and a conversation's token ids. [`Recoverable`] keeps
//! the first and builds the engine again from it on a new device; a [`crate::chat::ChatSession`]
//! keeps the second, so its next turn prefills the whole conversation into the new, empty cache.
//!
//! Native only: in the browser the weights come back from the Cache API, which JS reads and
//! streams into a new `WeightLoader` (`pkg/recovery.js`).

use std::path::{Path, PathBuf};

use crate::engine::{Engine, EngineOptions};
use crate::models::ModelError;

/// An engine that can be rebuilt on a new device from the file (or folder) it was loaded from.
pub struct Recoverable {
    engine: Engine,
    path: PathBuf,
    options: EngineOptions,
    recoveries: usize,
}

impl Recoverable {
    /// Loads `path` as [`Engine::load`] does, remembering where it came from.
    pub fn load(path: &Path, options: EngineOptions) -> Result<Self, ModelError> {
        let engine = Engine::load(path, &options)?;
        Ok(Recoverable {
            engine,
            path: path.to_path_buf(),
            options,
            recoveries: 0,
        })
    }

    /// The engine, on a working device: when the device was lost since the last call, a new
    /// one is opened and the weights loaded again first (the KV cache starts empty, so the next
    /// prompt is prefilled in full). The call that was running when the device went has already
    /// failed with `DeviceLost`; this is what makes the next one work.
    pub fn ready(&mut self) -> Result<&mut Engine, ModelError> {
        // wgpu-core reports a loss at a poll; one that happened while idle (a reset between
        // calls) is noticed here, before the call, rather than by failing it.
        let _ = self.engine.ctx.device.poll(wgpu::PollType::Poll);
        if self.is_lost() {
            self.recover()?;
        }
        Ok(&mut self.engine)
    }

    /// Opens a new device and loads the weights again from the same path, whether or not the
    /// device was lost. A failed recovery leaves the lost engine in place, so the next
    /// [`Recoverable::ready`] tries again.
    pub fn recover(&mut self) -> Result<(), ModelError> {
        let fresh = Engine::load(&self.path, &self.options)?;
        if let Some(reason) = self.engine.ctx.lost() {
            log::warn!("webslm: GPU device lost ({reason}); model reloaded on a new device");
        }
        // The old engine's buffers belong to the lost device; dropping them frees nothing on
        // the new one.
        self.engine = fresh;
        self.recoveries += 1;
        Ok(())
    }

    /// Whether the engine's device is lost (a call saw it fail, or wgpu reported it).
    pub fn is_lost(&self) -> bool {
        self.engine.ctx.lost().is_some()
    }

    /// How many times the engine was rebuilt on a new device.
    pub fn recoveries(&self) -> usize {
        self.recoveries
    }

    /// The engine as it is, lost or not (to read its tokenizer or template, which need no GPU).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The engine as it is, without recovering: calls on a lost device fail with `DeviceLost`.
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }
}
