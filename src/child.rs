//! child (in progress)
