//! Integration tests: one binary (it links once). They run the built `kcl-bridge` binary with
//! real child processes: a scripted child, and the unmodified amazon_kclpy and aws-kcl
//! libraries installed by `scripts/setup-test-env.sh`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic on broken set-up.

mod cli;
mod config_files;
mod credentials;
mod emulator;
mod fixtures;
mod harness;
mod java;
mod lease_table;
mod proxy;
mod real_clients;
mod replay_faults;
mod worker;
