//! The writing end of a child's stdin.
//!
//! A `processRecords` line is mostly the records' base64 data, and that data already sits in a
//! buffer of its own (a records file's mapping, a GetRecords response body). On Linux a
//! [`Gathered`] message is handed to the pipe with `vmsplice(2)`: the pipe takes references to
//! the pages that hold the data instead of a copy, so the daemon neither copies the data into a
//! line nor has the kernel copy the line into the pipe; only the child's read copies it, once.
//!
//! The price of a reference is that the pages must not change until the child has read them. So
//! a spliced message is held here until the pipe is seen empty (`FIONREAD`), which it is, for a
//! child that follows the protocol, by the time the next message is written: a child answers an
//! action only after reading its whole line. While a spliced message is still held, the next one
//! is copied as usual. A message still held when the writer ends is handed back, to be dropped
//! only once the child is gone (see `ShardChild::close`).
//!
//! Everything else (other platforms, a kernel or sandbox without `vmsplice`, plain lines) is
//! written with `write(2)`.

use std::io::{self, IoSlice};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::process::ChildStdin;
use tracing::debug;

use crate::protocol::Gathered;

/// A message for the child's stdin.
#[derive(Debug)]
pub enum Outgoing {
    Line(Vec<u8>),
    Gathered(Gathered),
}

impl Outgoing {
    /// The whole line, for a transcript.
    pub fn to_line(&self) -> std::borrow::Cow<'_, [u8]> {
        match self {
            Outgoing::Line(line) => line.as_slice().into(),
            Outgoing::Gathered(g) => g.to_line().into(),
        }
    }
}

/// The most pieces one `vmsplice` call takes (`IOV_MAX` on Linux).
#[cfg(target_os = "linux")]
const MAX_PIECES: usize = 1024;

/// The capacities asked for a child's stdin pipe, in order of preference (Linux's default is
/// 64 KiB). A spliced batch takes one page-sized slot per piece (the text between two records'
/// data, or a page of data), so a 1 MiB pipe holds about 100 records of 1 KiB, and a batch line
/// takes a few dozen calls and wake-ups rather than hundreds.
const PIPE_SIZES: [usize; 2] = [1 << 20, 256 << 10];

/// Pipes above the default size count against a limit per user, shared with every other process
/// of the user (`/proc/sys/fs/pipe-user-pages-soft`, 64 MiB by default); past it, every new pipe
/// of that user gets two pages. kcl-bridge's widened pipes together stay within a quarter of the
/// default: a worker with many leases widens the first children's pipes only.
const PIPE_BUDGET: usize = 16 << 20;
static PIPE_BYTES_IN_USE: AtomicUsize = AtomicUsize::new(0);

/// A share of [`PIPE_BUDGET`], given back when the pipe closes.
struct Widened(usize);

impl Widened {
    /// Best effort: a narrower pipe only costs more calls.
    fn pipe(fd: &OwnedFd) -> Widened {
        #[cfg(target_os = "linux")]
        for size in PIPE_SIZES {
            let before = PIPE_BYTES_IN_USE.fetch_add(size, Ordering::Relaxed);
            if before + size > PIPE_BUDGET {
                PIPE_BYTES_IN_USE.fetch_sub(size, Ordering::Relaxed);
                continue;
            }
            return match nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETPIPE_SZ(size as i32)) {
                Ok(_) => Widened(size),
                Err(e) => {
                    PIPE_BYTES_IN_USE.fetch_sub(size, Ordering::Relaxed);
                    debug!(error = %e, "could not widen the pipe to the child's stdin");
                    Widened(0)
                }
            };
        }
        let _ = fd;
        Widened(0)
    }
}

impl Drop for Widened {
    fn drop(&mut self) {
        PIPE_BYTES_IN_USE.fetch_sub(self.0, Ordering::Relaxed);
    }
}

/// Writes messages to one child's stdin pipe.
pub struct StdinWriter {
    pipe: AsyncFd<OwnedFd>,
    _widened: Widened,
    /// A spliced message whose pages the pipe may still reference.
    held: Option<Gathered>,
    /// Cleared for good when the kernel refuses `vmsplice` itself (not supported, filtered).
    splice: bool,
}

impl StdinWriter {
    pub fn new(stdin: ChildStdin) -> io::Result<StdinWriter> {
        // `into_owned_fd` hands the pipe back in blocking mode.
        StdinWriter::on(stdin.into_owned_fd()?)
    }

    /// Takes the writing end of a pipe.
    fn on(fd: OwnedFd) -> io::Result<StdinWriter> {
        let widened = Widened::pipe(&fd);
        let flags = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_GETFL)?;
        let flags = nix::fcntl::OFlag::from_bits_retain(flags) | nix::fcntl::OFlag::O_NONBLOCK;
        nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_SETFL(flags))?;
        // SAFETY: the `OwnedFd` is the pipe's only owner and keeps it open, the same descriptor,
        // for as long as the `AsyncFd` holds it.
        let pipe = unsafe { AsyncFd::register_with_interest(fd, Interest::WRITABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(StdinWriter {
            pipe,
            _widened: widened,
            held: None,
            splice: cfg!(target_os = "linux"),
        })
    }

    /// Writes one message whole.
    pub async fn write(&mut self, message: Outgoing) -> io::Result<()> {
        match message {
            Outgoing::Line(line) => self.write_all(&line).await,
            Outgoing::Gathered(gathered) => {
                if self.held.is_some() && self.drained() {
                    self.held = None;
                }
                if self.splice && self.held.is_none() {
                    match self.splice_all(&gathered).await {
                        Ok(()) => {
                            self.held = Some(gathered);
                            return Ok(());
                        }
                        Err(Unspliced::Unavailable(e)) => {
                            debug!(error = %e, "vmsplice is not available; copying lines to the pipe");
                            self.splice = false;
                        }
                        Err(Unspliced::Failed(e)) => return Err(e),
                    }
                }
                self.write_all(&gathered.to_line()).await
            }
        }
    }

    /// What must outlive the child: a spliced message the pipe may still hold.
    pub fn into_held(mut self) -> Option<Gathered> {
        if self.held.is_some() && self.drained() {
            self.held = None;
        }
        self.held
    }

    async fn write_all(&self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let n = self
                .pipe
                .async_io(Interest::WRITABLE, |fd| {
                    nix::unistd::write(fd, bytes).map_err(io::Error::from)
                })
                .await?;
            bytes = &bytes[n..];
        }
        Ok(())
    }

    /// Whether the child has read everything written so far.
    fn drained(&self) -> bool {
        pending_bytes(&self.pipe) == Some(0)
    }

    /// Splices `message` whole.
    #[cfg(target_os = "linux")]
    async fn splice_all(&self, message: &Gathered) -> Result<(), Unspliced> {
        use nix::errno::Errno;
        use nix::fcntl::SpliceFFlags;
        let mut pieces: Vec<IoSlice<'_>> = message
            .pieces()
            .filter(|p| !p.is_empty())
            .map(IoSlice::new)
            .collect();
        let mut rest = &mut pieces[..];
        let mut written = 0usize;
        while !rest.is_empty() {
            let batch = rest.len().min(MAX_PIECES);
            let spliced = self
                .pipe
                .async_io(Interest::WRITABLE, |fd| {
                    nix::fcntl::vmsplice(fd, &rest[..batch], SpliceFFlags::SPLICE_F_NONBLOCK)
                        .map_err(io::Error::from)
                })
                .await;
            let n = match spliced {
                Ok(n) => n,
                Err(e)
                    if written == 0
                        && matches!(
                            Errno::from_raw(e.raw_os_error().unwrap_or(0)),
                            Errno::ENOSYS | Errno::EINVAL | Errno::EPERM
                        ) =>
                {
                    return Err(Unspliced::Unavailable(e))
                }
                Err(e) => return Err(Unspliced::Failed(e)),
            };
            written += n;
            IoSlice::advance_slices(&mut rest, n);
        }
        Ok(())
    }

    #[cfg(not(target_os = "linux"))]
    async fn splice_all(&self, _message: &Gathered) -> Result<(), Unspliced> {
        Err(Unspliced::Unavailable(io::Error::from(
            io::ErrorKind::Unsupported,
        )))
    }
}

/// Why a message was not spliced whole.
enum Unspliced {
    /// The kernel refuses the call itself (not supported, filtered by a sandbox); nothing was
    /// written, so the message can still be copied.
    Unavailable(io::Error),
    /// The pipe failed (the child closed its stdin, say), perhaps part-way through the message.
    Failed(io::Error),
}

/// Bytes written to the pipe and not yet read, or `None` if the kernel will not say.
fn pending_bytes(pipe: &AsyncFd<OwnedFd>) -> Option<i32> {
    nix::ioctl_read_bad!(fionread, nix::libc::FIONREAD, nix::libc::c_int);
    let mut n: nix::libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, which points at `n`.
    unsafe { fionread(pipe.get_ref().as_raw_fd(), &mut n) }
        .ok()
        .map(|_| n)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::protocol::{gather_process_records, Payload, Record};

    /// A one-record batch whose data (long enough to be referenced) is `fill` repeated.
    fn batch(fill: u8) -> Gathered {
        use base64::Engine;
        let text = base64::engine::general_purpose::STANDARD.encode(vec![fill; 3000]);
        let record = Record {
            data: Payload::base64(text.into()).unwrap(),
            partition_key: "pk".into(),
            sequence_number: fill.to_string(),
            sub_sequence_number: 0,
            approximate_arrival_timestamp: 1,
        };
        gather_process_records(&[record], None)
    }

    /// The line of the message the writer holds, if any.
    fn held(writer: &StdinWriter) -> Option<Vec<u8>> {
        writer.held.as_ref().map(Gathered::to_line)
    }

    fn read_exactly(from: &mut std::fs::File, n: usize) -> Vec<u8> {
        let mut got = vec![0; n];
        from.read_exact(&mut got).unwrap();
        got
    }

    #[tokio::test]
    async fn a_spliced_message_is_held_until_the_pipe_is_read() {
        let (read_end, write_end) = nix::unistd::pipe().unwrap();
        let mut reader = std::fs::File::from(read_end);
        let mut writer = StdinWriter::on(write_end).unwrap();
        let (first, second, third) = (batch(1), batch(2), batch(3));

        writer
            .write(Outgoing::Gathered(first.clone()))
            .await
            .unwrap();
        assert!(writer.splice, "vmsplice was refused here");
        assert_eq!(held(&writer), Some(first.to_line()));
        assert_eq!(pending_bytes(&writer.pipe), Some(first.len() as i32));
        assert_eq!(read_exactly(&mut reader, first.len()), first.to_line());

        // Read: the first is let go, and the second is spliced and held in its place.
        writer
            .write(Outgoing::Gathered(second.clone()))
            .await
            .unwrap();
        assert_eq!(held(&writer), Some(second.to_line()));

        // Not read yet: the second stays held, and the third is copied behind it.
        writer
            .write(Outgoing::Gathered(third.clone()))
            .await
            .unwrap();
        assert_eq!(held(&writer), Some(second.to_line()));
        writer
            .write(Outgoing::Line(b"{}\n".to_vec()))
            .await
            .unwrap();
        let mut expected = second.to_line();
        expected.extend(third.to_line());
        expected.extend(b"{}\n");
        assert_eq!(read_exactly(&mut reader, expected.len()), expected);

        assert!(
            writer.into_held().is_none(),
            "all read: nothing needs to outlive the child"
        );
    }

    #[tokio::test]
    async fn an_unread_message_outlives_the_writer() {
        let (_read_end, write_end) = nix::unistd::pipe().unwrap();
        let mut writer = StdinWriter::on(write_end).unwrap();
        let message = batch(4);
        writer
            .write(Outgoing::Gathered(message.clone()))
            .await
            .unwrap();
        assert_eq!(
            writer.into_held().map(|g| g.to_line()),
            Some(message.to_line())
        );
    }

    #[tokio::test]
    async fn widened_pipes_stay_within_their_budget() {
        let pipes: Vec<_> = (0..(PIPE_BUDGET / PIPE_SIZES[1] + 4))
            .map(|_| {
                let (r, w) = nix::unistd::pipe().unwrap();
                (r, StdinWriter::on(w).unwrap())
            })
            .collect();
        let widened: usize = pipes.iter().map(|(_, w)| w._widened.0).sum();
        assert!(widened <= PIPE_BUDGET, "{widened}");
        assert!(
            pipes.iter().any(|(_, w)| w._widened.0 == 0),
            "past the budget, pipes stay as they are"
        );
        drop(pipes);
        // Given back when the pipes closed. (Other tests may hold a little of the budget.)
        let (_r, w) = nix::unistd::pipe().unwrap();
        assert_eq!(StdinWriter::on(w).unwrap()._widened.0, PIPE_SIZES[0]);
    }
}
