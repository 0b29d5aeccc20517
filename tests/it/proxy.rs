//! A forward HTTP proxy on loopback for the integration tests: it records what passes through
//! and can answer chosen calls itself (errors the emulators never give, a crafted shard list).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request as the proxy read it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Instant,
    /// "METHOD URI X-Amz-Target proxy-authorization?"
    pub line: String,
    /// `User-Agent` and `X-Amz-User-Agent`, one after the other.
    pub user_agent: String,
    /// The request's body (JSON for these services), lossily decoded.
    pub body: String,
}

/// A forward HTTP proxy on loopback, as a corporate network has one: it takes each request in
/// absolute form, records "METHOD URI X-Amz-Target proxy-authorization?" and passes it on to the
/// origin on a connection of its own.
pub struct ForwardProxy {
    pub endpoint: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Requests whose `X-Amz-Target` is the first value get answered with the second (status
    /// line, headers, body) instead of being passed on, as many times as the counter says.
    fault: Arc<Mutex<Option<(String, String, usize)>>>,
    /// Requests whose `X-Amz-Target` is the first value are passed on only after the second.
    delay: Arc<Mutex<Option<(String, Duration)>>>,
}

impl ForwardProxy {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let fault = Arc::new(Mutex::new(None));
        let delay = Arc::new(Mutex::new(None));
        let (log, faults, delays) = (seen.clone(), fault.clone(), delay.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let (log, faults, delays) = (log.clone(), faults.clone(), delays.clone());
                std::thread::spawn(move || Self::serve(conn, &log, &faults, &delays));
            }
        });
        ForwardProxy {
            endpoint,
            seen,
            fault,
            delay,
        }
    }

    /// Answers the next `times` requests for `target` with a Kinesis/DynamoDB-style error
    /// (HTTP 400, `x-amzn-ErrorType` and a JSON `__type`) instead of passing them on.
    pub fn fail(&self, target: &str, error_type: &str, times: usize) {
        let body = format!(r#"{{"__type":"{error_type}","message":"injected by the test proxy"}}"#);
        self.answer(
            target,
            &format!("400 Bad Request\r\nx-amzn-ErrorType: {error_type}"),
            &body,
            times,
        );
    }

    /// Answers the next `times` requests for `target` with HTTP `status` (the status line's
    /// code and text, then any further header lines) and this JSON body, instead of passing
    /// them on.
    pub fn answer(&self, target: &str, status: &str, body: &str, times: usize) {
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.1\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        *self.fault.lock().unwrap() = Some((target.to_owned(), response, times));
    }

    /// Holds every request for `target` for `time` before passing it on (a slow service).
    pub fn slow_down(&self, target: &str, time: Duration) {
        *self.delay.lock().unwrap() = Some((target.to_owned(), time));
    }

    /// Requests of one client connection, until it closes.
    fn serve(
        mut conn: std::net::TcpStream,
        log: &Mutex<Vec<Seen>>,
        fault: &Mutex<Option<(String, String, usize)>>,
        delay: &Mutex<Option<(String, Duration)>>,
    ) {
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        loop {
            let mut request = String::new();
            if reader.read_line(&mut request).unwrap_or(0) == 0 {
                return;
            }
            let mut parts = request.split_whitespace();
            let (method, uri) = (
                parts.next().unwrap_or("").to_owned(),
                parts.next().unwrap_or("").to_owned(),
            );
            let (mut headers, mut length, mut target, mut authorized, mut user_agent) =
                (String::new(), 0usize, String::new(), false, String::new());
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                    break;
                }
                let (name, value) = h.split_once(':').unwrap_or((&h, ""));
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    "x-amz-target" => target = value.trim().to_owned(),
                    "proxy-authorization" => authorized = true,
                    "user-agent" | "x-amz-user-agent" => {
                        user_agent.push_str(value.trim());
                        user_agent.push(' ');
                    }
                    _ => {}
                }
                if !matches!(
                    name.to_ascii_lowercase().as_str(),
                    "connection" | "proxy-connection" | "proxy-authorization"
                ) {
                    headers.push_str(&h);
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap_or_default();
            log.lock().unwrap().push(Seen {
                at: Instant::now(),
                line: format!("{method} {uri} {target} {authorized}"),
                user_agent,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            let injected = {
                let mut fault = fault.lock().unwrap();
                match fault.as_mut() {
                    Some((t, response, left)) if *t == target && *left > 0 => {
                        *left -= 1;
                        Some(response.clone())
                    }
                    _ => None,
                }
            };
            if let Some(response) = injected {
                if conn.write_all(response.as_bytes()).is_err() {
                    return;
                }
                continue;
            }
            let hold = match delay.lock().unwrap().as_ref() {
                Some((t, time)) if *t == target => Some(*time),
                _ => None,
            };
            if let Some(time) = hold {
                std::thread::sleep(time);
            }
            // Only absolute-form http:// requests are proxied here (no CONNECT).
            let Some(rest) = uri.strip_prefix("http://") else {
                conn.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                    .unwrap_or_default();
                return;
            };
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let path = if path.is_empty() { "/" } else { path };
            let mut origin = std::net::TcpStream::connect(authority).unwrap();
            origin
                .write_all(
                    format!("{method} {path} HTTP/1.1\r\n{headers}Connection: close\r\n\r\n")
                        .as_bytes(),
                )
                .unwrap();
            origin.write_all(&body).unwrap();
            let mut response = Vec::new();
            origin.read_to_end(&mut response).unwrap_or_default();
            if conn.write_all(&response).is_err() {
                return;
            }
        }
    }

    /// The environment that sends a worker's AWS calls (loopback included) through this proxy.
    pub fn env(&self) -> [(&'static str, &std::ffi::OsStr); 3] {
        [
            ("HTTP_PROXY", std::ffi::OsStr::new(&self.endpoint)),
            ("NO_PROXY", std::ffi::OsStr::new("")),
            ("no_proxy", std::ffi::OsStr::new("")),
        ]
    }

    pub fn seen(&self) -> Vec<String> {
        self.requests().into_iter().map(|r| r.line).collect()
    }

    /// Every request with the instant it had been read and its user agent.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}
