//! References for the host tests.
