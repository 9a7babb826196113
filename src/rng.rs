//! The seeded random numbers of webslm: test inputs on both sides of a twin test, and the
//! sampler's draws (so a seed reproduces a generation).

/// Tiny deterministic PRNG (SplitMix64) shared by CPU and GPU tests.
///
/// Why SplitMix64: it is a few lines, has no bad seeds (seed 0 is fine), and
/// its output is fully specified, so both sides of a twin test can generate
/// identical inputs from the same seed without any external crate.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// Creates a generator; every seed (including 0) is valid.
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// Next 64 random bits (SplitMix64 step).
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Next 32 random bits (the high half of [`Rng::next_u64`], which has the
    /// best-mixed bits).
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform f32 in `[lo, hi)`.
    ///
    /// Uses 24 random bits so that the unit value `u` is exactly
    /// representable and strictly below 1.0; the result is `lo + (hi-lo)*u`
    /// computed in f32.
    pub fn f32_range(&mut self, lo: f32, hi: f32) -> f32 {
        let u = (self.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0);
        lo + (hi - lo) * u
    }

    /// Uniform usize in `[lo, hi)`. Panics if `lo >= hi` (test misuse).
    ///
    /// Uses a plain modulo; the bias is < 2^-32 for any range a test uses.
    pub fn usize_range(&mut self, lo: usize, hi: usize) -> usize {
        assert!(lo < hi, "usize_range: empty range {lo}..{hi}");
        lo + (self.next_u64() % (hi - lo) as u64) as usize
    }

    /// `n` uniform f32 values in `[lo, hi)`.
    pub fn vec_f32(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.f32_range(lo, hi)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn deterministic_and_in_range() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        for _ in 0..1000 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let mut r = Rng::new(0);
        for _ in 0..10_000 {
            let x = r.f32_range(-1.0, 1.0);
            assert!((-1.0..1.0).contains(&x));
            let u = r.usize_range(3, 7);
            assert!((3..7).contains(&u));
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }

    #[test]
    fn splitmix_known_value() {
        // Reference value of SplitMix64 with seed 0 (first output).
        assert_eq!(Rng::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
    }
}
