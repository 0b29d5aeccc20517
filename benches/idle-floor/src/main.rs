//! Polls GetRecords on two shards every 250 ms over one keep-alive HTTP/1.1 connection each, on a
//! current-thread tokio runtime, doing as little as possible between the system calls: a
//! precomputed request (the emulator does not check signatures), the response read until its
//! `content-length`. What this process's CPU costs is what the kernel, the runtime and the
//! emulator's replies cost on this machine: the floor under any idle Kinesis poller here.
//!
//! Usage: idle-floor HOST:PORT STREAM SHARD... (the stream must exist; each shard is polled
//! from TRIM_HORIZON). With `ALIGNED=1` in the environment, one task polls every shard on one
//! timer: all requests written, then all responses read, then one sleep to the next tick of a
//! fixed schedule (as kcl-bridge's shards share one schedule).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const IDLE: Duration = Duration::from_millis(250);

fn request(addr: &str, target: &str, body: &str) -> Vec<u8> {
    format!(
        "POST / HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/x-amz-json-1.1\r\n\
         x-amz-target: Kinesis_20131202.{target}\r\nx-amz-date: 20260101T000000Z\r\n\
         authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kinesis/aws4_request, \
         SignedHeaders=host, Signature=0\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Reads one response; returns its body, or an error if it is not a 200.
async fn response(s: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<String> {
    buf.clear();
    let mut chunk = [0u8; 16384];
    loop {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(head) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let headers = String::from_utf8_lossy(&buf[..head]).to_ascii_lowercase();
        let length: usize = headers
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if !headers.starts_with("http/1.1 200") {
            return Err(std::io::Error::other(headers));
        }
        if buf.len() >= head + 4 + length {
            return Ok(String::from_utf8_lossy(&buf[head + 4..head + 4 + length]).into_owned());
        }
    }
}

/// A keep-alive connection and its GetRecords request for one shard.
async fn open(addr: &str, stream: &str, shard: &str) -> std::io::Result<(TcpStream, Vec<u8>)> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let mut buf = Vec::new();
    let body = format!(
        r#"{{"StreamName":"{stream}","ShardId":"{shard}","ShardIteratorType":"TRIM_HORIZON"}}"#
    );
    s.write_all(&request(addr, "GetShardIterator", &body)).await?;
    let reply = response(&mut s, &mut buf).await?;
    let iterator = reply
        .split(r#""ShardIterator""#)
        .nth(1)
        .and_then(|rest| rest.split('"').nth(1))
        .ok_or_else(|| std::io::Error::other(format!("no iterator in {reply}")))?
        .to_owned();
    // moto hands back the same iterator at the tip of an idle shard, so one request serves.
    let get = request(
        addr,
        "GetRecords",
        &format!(r#"{{"ShardIterator":"{iterator}","Limit":10000}}"#),
    );
    Ok((s, get))
}

async fn poll(addr: String, stream: String, shard: String) -> std::io::Result<()> {
    let (mut s, get) = open(&addr, &stream, &shard).await?;
    let mut buf = Vec::new();
    loop {
        s.write_all(&get).await?;
        response(&mut s, &mut buf).await?;
        tokio::time::sleep(IDLE).await;
    }
}

/// Every shard on one schedule: write all requests, read all responses, sleep to the next tick.
async fn poll_aligned(addr: String, stream: String, shards: Vec<String>) -> std::io::Result<()> {
    let mut conns = Vec::new();
    for shard in &shards {
        conns.push(open(&addr, &stream, shard).await?);
    }
    let mut buf = Vec::new();
    let mut tick = tokio::time::Instant::now();
    loop {
        for (s, get) in conns.iter_mut() {
            s.write_all(get).await?;
        }
        for (s, _) in conns.iter_mut() {
            response(s, &mut buf).await?;
        }
        tick += IDLE;
        tokio::time::sleep_until(tick).await;
    }
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(stream)) = (args.next(), args.next()) else {
        eprintln!("usage: idle-floor HOST:PORT STREAM SHARD...");
        std::process::exit(2);
    };
    let shards: Vec<String> = args.collect();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            if std::env::var_os("ALIGNED").is_some() {
                return poll_aligned(addr, stream, shards).await;
            }
            let mut tasks = tokio::task::JoinSet::new();
            for shard in shards {
                tasks.spawn(poll(addr.clone(), stream.clone(), shard));
            }
            while let Some(done) = tasks.join_next().await {
                done.map_err(std::io::Error::other)??;
            }
            Ok(())
        })
}
