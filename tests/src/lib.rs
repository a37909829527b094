//! Cross-crate integration tests for taskgroup live in `tests/tests/` (solver, rounding,
//! evaluation, AdaGroup sessions); this library target is intentionally empty.
