//! A tiny deterministic PRNG (SplitMix64) and the sampling helpers the
//! generator needs. Deterministic across platforms: no floating-point
//! transcendental results feed back into integer state.

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    /// An independent stream derived from this seed and a label, so that
    /// adding draws in one phase does not shift every later phase.
    pub fn fork(seed: u64, label: &str) -> Self {
        let mut h: u64 = 0xCBF2_9CE4_8422_2325;
        for b in label.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01B3);
        }
        Rng::new(seed.wrapping_add(h.rotate_left(17)))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`), without modulo bias worth caring about.
    pub fn below(&mut self, n: usize) -> usize {
        debug_assert!(n > 0);
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// Uniform in `[0, 1)`.
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `(0, 1]`: safe to take the logarithm of.
    pub fn open01(&mut self) -> f64 {
        1.0 - self.f64()
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// Exponentially distributed with mean 1.
    pub fn exp1(&mut self) -> f64 {
        -self.open01().ln()
    }

    /// Pareto-distributed with minimum 1 and tail index `alpha`, capped.
    pub fn pareto(&mut self, alpha: f64, cap: f64) -> f64 {
        self.open01().powf(-1.0 / alpha).min(cap)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Picks from `(item, weight)` pairs.
    pub fn pick_weighted<T: Copy>(&mut self, items: &[(T, f64)]) -> T {
        let total: f64 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.f64() * total;
        for (item, w) in items {
            if x < *w {
                return *item;
            }
            x -= w;
        }
        items[items.len() - 1].0
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }

    /// `k` distinct indices of `0..n`, in random order (partial Fisher–Yates).
    pub fn sample_indices(&mut self, n: usize, k: usize) -> Vec<usize> {
        let k = k.min(n);
        let mut all: Vec<usize> = (0..n).collect();
        for i in 0..k {
            let j = i + self.below(n - i);
            all.swap(i, j);
        }
        all.truncate(k);
        all
    }
}

/// Draws many indices proportionally to fixed weights in O(log n) each.
pub struct Cumulative {
    sums: Vec<f64>,
}

impl Cumulative {
    pub fn new(weights: impl IntoIterator<Item = f64>) -> Self {
        let mut total = 0.0;
        let sums = weights
            .into_iter()
            .map(|w| {
                total += w.max(0.0);
                total
            })
            .collect();
        Cumulative { sums }
    }

    pub fn is_empty(&self) -> bool {
        self.sums.last().is_none_or(|&t| t <= 0.0)
    }

    pub fn draw(&self, rng: &mut Rng) -> usize {
        let total = *self.sums.last().expect("non-empty weights");
        let x = rng.f64() * total;
        self.sums
            .partition_point(|&s| s <= x)
            .min(self.sums.len() - 1)
    }
}

/// `k` distinct indices drawn without replacement, proportionally to weight
/// (Efraimidis–Spirakis: keep the `k` largest `ln(u) / w`).
pub fn weighted_sample_without_replacement(rng: &mut Rng, weights: &[f64], k: usize) -> Vec<usize> {
    let mut keyed: Vec<(f64, usize)> = weights
        .iter()
        .enumerate()
        .filter(|(_, w)| **w > 0.0)
        .map(|(i, w)| (rng.open01().ln() / w, i))
        .collect();
    keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    keyed.truncate(k);
    keyed.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_in_range() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..1000 {
            let (x, y) = (a.below(13), b.below(13));
            assert_eq!(x, y);
            assert!(x < 13);
        }
        let s = a.sample_indices(100, 40);
        let mut d = s.clone();
        d.sort();
        d.dedup();
        assert_eq!(d.len(), 40);
    }

    #[test]
    fn cumulative_skips_zero_weights() {
        let c = Cumulative::new([0.0, 1.0, 0.0, 2.0]);
        let mut rng = Rng::new(1);
        for _ in 0..1000 {
            let i = c.draw(&mut rng);
            assert!(i == 1 || i == 3);
        }
    }
}
