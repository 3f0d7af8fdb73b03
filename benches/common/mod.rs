//! What the benches that compare us with a peer share: deterministic inputs, the median
//! of one-call samples, and running a PyTorch script named by `MICROTRAIN_TORCH_PYTHON`.

#![allow(dead_code)] // each bench uses part of it

pub mod nets;

use core::time::Duration;
use std::process::Command;
use std::time::Instant;

/// Deterministic values in `[-1, 1)` from an integer seed (a linear congruential
/// generator: the same values on every machine).
pub fn fill(out: &mut [f32], seed: u32) {
    let mut state = seed.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    for v in out {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        *v = (state >> 8) as f32 / (1u32 << 23) as f32 - 1.0;
    }
}

/// The median wall time of `f()` in microseconds: `f` is called for a 0.2 s warm-up,
/// then timed one call per sample, up to `max` samples or until one second has passed
/// (but at least 21 samples). The same rule as `median_us` in the PyTorch scripts.
pub fn median_us(max: usize, mut f: impl FnMut()) -> f64 {
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(200) {
        f();
    }
    let start = Instant::now();
    let mut samples = Vec::with_capacity(max);
    while samples.len() < max {
        let t = Instant::now();
        f();
        samples.push(t.elapsed().as_secs_f64() * 1e6);
        if start.elapsed() > Duration::from_secs(1) && samples.len() >= 21 {
            break;
        }
    }
    median(samples)
}

/// The median of `v` (the mean of the middle two for an even count).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// What a PyTorch script printed: its first line (`torch version=… threads=…`) and
/// its measurement lines.
pub struct Torch {
    /// The script's first line.
    pub version: String,
    /// Its measurement lines.
    pub lines: Vec<String>,
}

impl Torch {
    /// Runs `benches/{script}` with `$MICROTRAIN_TORCH_PYTHON`, or says why not.
    pub fn run(script: &str) -> Result<Torch, String> {
        let python = std::env::var_os("MICROTRAIN_TORCH_PYTHON")
            .ok_or("MICROTRAIN_TORCH_PYTHON is not set")?;
        let script = format!("{}/benches/{script}", env!("CARGO_MANIFEST_DIR"));
        let out = Command::new(&python)
            .arg(&script)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", python.to_string_lossy()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr.lines().last().unwrap_or("no message");
            return Err(format!(
                "{} {script} failed ({}): {last}",
                python.to_string_lossy(),
                out.status
            ));
        }
        let mut lines = stdout.lines().map(str::to_owned);
        let version = lines.next().unwrap_or_default();
        Ok(Torch {
            version,
            lines: lines.collect(),
        })
    }

    /// The `median_us=` field of the line that starts with `key` followed by a space.
    pub fn median_us(&self, key: &str) -> Option<f64> {
        let key = format!("{key} ");
        let line = self.lines.iter().find(|l| l.starts_with(&key))?;
        let field = line.split(' ').find_map(|f| f.strip_prefix("median_us="))?;
        field.parse().ok()
    }
}

/// Caps the run-time dispatch (`kernels::dispatch`) at the level named by the
/// environment variable `MICROTRAIN_DISPATCH` (`baseline`, `avx2` or `avx512`; unset:
/// the CPU decides). `.ci/callgrind.sh` sets `baseline` unless told otherwise, so its
/// counts are those of the build's own SSE2 vectors whatever CPU valgrind reports;
/// `benches/step_quiet.rs` reads it too, to time a capped level.
pub fn limit_dispatch() {
    use microtrain::kernels::dispatch::{set_limit, Level};
    let level = match std::env::var("MICROTRAIN_DISPATCH").as_deref() {
        Ok("baseline") => Level::Baseline,
        Ok("avx2") => Level::Avx2,
        Ok("avx512") | Err(_) => Level::Avx512,
        Ok(other) => {
            eprintln!("MICROTRAIN_DISPATCH={other:?}: expected baseline, avx2 or avx512");
            std::process::exit(2);
        }
    };
    set_limit(level);
}
