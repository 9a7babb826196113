//! Elapsed time natively and in the browser (`std::time::Instant` panics on wasm32).

/// Measures seconds since it was started.
pub struct Stopwatch {
    #[cfg(not(target_arch = "wasm32"))]
    start: std::time::Instant,
    #[cfg(target_arch = "wasm32")]
    start_ms: f64,
}

impl Stopwatch {
    pub fn start() -> Stopwatch {
        Stopwatch {
            #[cfg(not(target_arch = "wasm32"))]
            start: std::time::Instant::now(),
            #[cfg(target_arch = "wasm32")]
            start_ms: js_sys::Date::now(),
        }
    }

    pub fn secs(&self) -> f64 {
        #[cfg(not(target_arch = "wasm32"))]
        return self.start.elapsed().as_secs_f64();
        #[cfg(target_arch = "wasm32")]
        return (js_sys::Date::now() - self.start_ms) / 1000.0;
    }
}

/// Resolves after one turn of the browser's event loop (`setTimeout(0)`, which browsers clamp to
/// a few milliseconds once such timers nest): for waiting on a callback that a promise queues.
#[cfg(target_arch = "wasm32")]
pub async fn next_task() {
    use wasm_bindgen::JsCast;
    let timer = js_sys::Promise::new(&mut |resolve, _reject| {
        let global = js_sys::global();
        let set_timeout = js_sys::Reflect::get(&global, &"setTimeout".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        match set_timeout {
            Some(f) => {
                let _ = f.call2(&global, &resolve, &0.into());
            }
            // No timers (not a window or worker): settle at once rather than never.
            None => {
                let _ = resolve.call0(&wasm_bindgen::JsValue::NULL);
            }
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(timer).await;
}

/// The wall-clock date and time, for templates that print today's date (`strftime_now`): the
/// browser's local time (as Python's `datetime.now()` gives it), and UTC natively, where the
/// standard library knows no time zone.
pub fn wall_clock() -> chrono::NaiveDateTime {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let secs = i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX);
        chrono::DateTime::from_timestamp(secs, since_epoch.subsec_nanos())
            .unwrap_or_default()
            .naive_utc()
    }
    #[cfg(target_arch = "wasm32")]
    {
        // Date.now() is UTC milliseconds; getTimezoneOffset() is UTC minus local, in minutes.
        let d = js_sys::Date::new_0();
        let local_ms = d.get_time() - d.get_timezone_offset() * 60_000.0;
        chrono::DateTime::from_timestamp_millis(local_ms as i64)
            .unwrap_or_default()
            .naive_utc()
    }
}
