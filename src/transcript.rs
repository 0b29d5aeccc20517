//! transcript (in progress)
