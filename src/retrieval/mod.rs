//! Record retrieval from Kinesis.

pub mod kpl;
