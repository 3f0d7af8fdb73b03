//! The simulated accelerometer of the gesture example (`examples/common/gesture_task.rs`)
//! checked against what a real one must show: gravity of 1 g on a tilted device,
//! readings on the 12-bit grid within full scale, windows that are a pure function of
//! their seed and index, and gestures that move the sensor more than an idle wrist.

#[allow(dead_code)]
#[path = "../../examples/common/gesture_task.rs"]
mod gesture_task;

use gesture_task::{fill, window, AXES, CLASSES, STEPS, WINDOW};

/// The windows of every class, 50 each, from data set `seed`.
fn windows(seed: u64) -> (Vec<f32>, Vec<u32>) {
    let n = 50 * CLASSES;
    let (mut x, mut y) = (vec![0.0; n * WINDOW], vec![0; n]);
    fill(seed, 0, &mut x, &mut y);
    (x, y)
}

/// The mean of each axis over a window, in f64.
fn mean(w: &[f32]) -> [f64; AXES] {
    let mut m = [0.0; AXES];
    for step in w.chunks_exact(AXES) {
        for (a, v) in m.iter_mut().zip(step) {
            *a += f64::from(*v) / STEPS as f64;
        }
    }
    m
}

#[test]
fn readings_lie_on_the_12_bit_grid_within_full_scale() {
    let (x, _) = windows(1);
    for (i, &v) in x.iter().enumerate() {
        assert!((-4.0..4.0).contains(&v), "value {i} = {v} g outside ±4 g");
        let counts = f64::from(v) * 512.0;
        assert_eq!(
            counts,
            counts.round(),
            "value {i} = {v} g is not a multiple of 1/512 g"
        );
    }
}

#[test]
fn a_window_depends_on_its_seed_and_index_only() {
    let (mut a, mut b, mut c) = ([0.0; WINDOW], [0.0; WINDOW], [0.0; WINDOW]);
    // Window 14 of a data set shows gesture 14 mod 6 = 2.
    window(3, 14, 2, &mut a);
    window(3, 14, 2, &mut b);
    assert_eq!(a, b);
    window(3, 20, 2, &mut c);
    assert_ne!(a, c, "another index gives another performance");
    window(4, 14, 2, &mut c);
    assert_ne!(a, c, "another seed gives another data set");
    let (x, y) = windows(3);
    assert_eq!(&x[14 * WINDOW..15 * WINDOW], &a[..]);
    assert_eq!(y[14], 2);
    assert!((0..CLASSES as u32).all(|c| y.iter().filter(|&&l| l == c).count() == 50));
}

#[test]
fn gravity_reads_one_g_tilted_by_at_most_the_drawn_angles() {
    let (x, y) = windows(2);
    for (w, &label) in x.chunks_exact(WINDOW).zip(&y) {
        let g = mean(w);
        let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
        // Bias (σ 0.03 g per axis), gain (σ 2 %) and what remains of the motion's mean.
        assert!(
            (0.75..1.25).contains(&norm),
            "class {label}: |mean| = {norm} g"
        );
        // Roll and pitch up to 40° each (plus 8° drift) tilt z by at most ~57°.
        let tilt = (g[2] / norm).acos().to_degrees();
        assert!(
            tilt < 62.0,
            "class {label}: gravity {tilt}° from the z axis"
        );
    }
}

#[test]
fn gestures_move_the_sensor_more_than_an_idle_wrist() {
    for seed in [5, 6] {
        let (x, y) = windows(seed);
        // Per class, the mean over its windows of the variance about the window's mean
        // and of the largest deviation from it, in g² and g.
        let (mut variance, mut peak) = ([0.0f64; CLASSES], [0.0f64; CLASSES]);
        for (w, &label) in x.chunks_exact(WINDOW).zip(&y) {
            let m = mean(w);
            let deviations = || {
                w.chunks_exact(AXES)
                    .flat_map(|s| s.iter().zip(&m).map(|(v, a)| f64::from(*v) - a))
            };
            variance[label as usize] +=
                deviations().map(|d| d * d).sum::<f64>() / (STEPS * 50) as f64;
            peak[label as usize] += deviations().fold(0.0, |p: f64, d| p.max(d.abs())) / 50.0;
        }
        // Shakes, circles and swipes move for a good part of the window.
        for c in [1, 2, 4, 5] {
            assert!(
                variance[c] > 3.0 * variance[0],
                "seed {seed}, class {c}: variance {} vs idle {}",
                variance[c],
                variance[0]
            );
        }
        // A knock is two short jolts: little energy over the window, but high peaks,
        // even against the idle windows that have one bump.
        assert!(
            peak[3] > 1.5 * peak[0],
            "seed {seed}: knock peak {} vs idle {}",
            peak[3],
            peak[0]
        );
    }
}
