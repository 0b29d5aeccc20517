//! Record retrieval from Kinesis: the polling calls (`kinesis`, with GetRecords sent directly by `direct`) and KPL de-aggregation (`kpl`).

pub mod direct;
pub mod kinesis;
pub mod kpl;
