//! PROVISIONAL: record retrieval from Kinesis; the KPL module is merged in from the `kpl` branch.

pub mod kinesis;
