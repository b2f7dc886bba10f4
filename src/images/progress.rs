//! Progress of the image pipeline as events, like the apply engine's: the
//! library reports, the caller (the CLI's `ui`) decides how to show it.

use std::io::Read;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;

/// What the image pipeline reports while it works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageEvent {
    /// A step of one image: `pull base … (linux/amd64)`, `already in …, skipped`.
    Step { image: String, message: String },
    /// A transfer of `total` bytes began (`pull REF`, `NAME → target`).
    TransferStarted { id: u64, label: String, total: u64 },
    /// `bytes` more bytes of transfer `id` went through.
    TransferAdvanced { id: u64, bytes: u64 },
    /// Transfer `id` ended (done or abandoned).
    TransferEnded { id: u64 },
}

type Sink = Arc<dyn Fn(ImageEvent) + Send + Sync>;

/// Where the pipeline's events go; nowhere by default.
#[derive(Clone, Default)]
pub struct Progress {
    sink: Option<Sink>,
    next_transfer: Arc<AtomicU64>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("reported", &self.sink.is_some())
            .finish()
    }
}

impl Progress {
    /// Reports every event to `sink`.
    pub fn new(sink: impl Fn(ImageEvent) + Send + Sync + 'static) -> Self {
        Progress {
            sink: Some(Arc::new(sink)),
            next_transfer: Arc::default(),
        }
    }

    /// Reports nothing (tests, MCP).
    pub fn quiet() -> Self {
        Progress::default()
    }

    fn emit(&self, event: ImageEvent) {
        if let Some(sink) = &self.sink {
            sink(event);
        }
    }

    /// One step of `image`.
    pub fn step(&self, image: &str, message: &str) {
        self.emit(ImageEvent::Step {
            image: image.to_owned(),
            message: message.to_owned(),
        });
    }

    /// A transfer of `total` bytes; it ends when dropped.
    pub fn transfer(&self, total: u64, label: &str) -> Transfer {
        let id = self.next_transfer.fetch_add(1, Ordering::Relaxed);
        self.emit(ImageEvent::TransferStarted {
            id,
            label: label.to_owned(),
            total,
        });
        Transfer {
            progress: self.clone(),
            id,
        }
    }
}

/// One transfer being reported.
#[derive(Debug)]
pub struct Transfer {
    progress: Progress,
    id: u64,
}

impl Transfer {
    /// A transfer nobody hears about (a blob too small to show).
    pub fn unreported() -> Self {
        Transfer {
            progress: Progress::quiet(),
            id: 0,
        }
    }

    pub fn advance(&self, bytes: u64) {
        if bytes > 0 {
            self.progress
                .emit(ImageEvent::TransferAdvanced { id: self.id, bytes });
        }
    }

    /// `reader`, reporting the bytes read from it.
    pub fn reading<R: Read>(&self, reader: R) -> impl Read {
        Counted {
            inner: reader,
            transfer: self,
        }
    }

    /// `writer`, reporting the bytes written to it.
    pub fn writing<W: AsyncWrite + Unpin>(&self, writer: W) -> impl AsyncWrite + Unpin {
        Counted {
            inner: writer,
            transfer: self,
        }
    }
}

impl Drop for Transfer {
    fn drop(&mut self) {
        self.progress
            .emit(ImageEvent::TransferEnded { id: self.id });
    }
}

/// A reader or writer that reports what goes through it.
struct Counted<'a, T> {
    inner: T,
    transfer: &'a Transfer,
}

impl<T: Read> Read for Counted<'_, T> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.transfer.advance(n as u64);
        Ok(n)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<'_, T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &polled {
            self.transfer.advance(*n as u64);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn steps_and_transfers_arrive_as_events() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let progress = Progress::new(move |event| sink.lock().unwrap().push(event));
        progress.step("web", "pull base");
        {
            let transfer = progress.transfer(5, "pull web");
            let mut read = Vec::new();
            transfer
                .reading(&b"hello"[..])
                .read_to_end(&mut read)
                .unwrap();
            assert_eq!(read, b"hello");
        }
        let seen = seen.lock().unwrap();
        assert_eq!(
            *seen,
            [
                ImageEvent::Step {
                    image: "web".into(),
                    message: "pull base".into()
                },
                ImageEvent::TransferStarted {
                    id: 0,
                    label: "pull web".into(),
                    total: 5
                },
                ImageEvent::TransferAdvanced { id: 0, bytes: 5 },
                ImageEvent::TransferEnded { id: 0 },
            ]
        );
    }
}
