//! Shapes are types: models whose sizes do not fit together must not compile.
//!
//! Each program in `tests/ui/` is one mistake, and its `.stderr` is the error rustc
//! gives for it (regenerate with `TRYBUILD=overwrite cargo test -p host-tests --test
//! compile_fail` after a compiler upgrade that rewords diagnostics, and review the
//! diff: the error must still point at the mismatched sizes).

#[test]
fn shape_mismatches_do_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
