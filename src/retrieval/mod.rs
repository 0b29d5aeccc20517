//! Record retrieval from Kinesis: the polling calls (`kinesis`, with GetRecords sent directly by
//! `direct`), KPL de-aggregation (`kpl`), and when each shard polls (`pacing`).

pub mod direct;
pub mod kinesis;
pub mod kpl;
pub mod pacing;
