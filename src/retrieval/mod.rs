//! Record retrieval from Kinesis: the polling calls (`kinesis`) and KPL de-aggregation (`kpl`).

pub mod kinesis;
pub mod kpl;
