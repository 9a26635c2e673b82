use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use super::Runtime;
use crate::scheduler::{Config, Hooks, Shared};

/// Configures and builds a [`Runtime`], like `tokio::runtime::Builder`.
///
/// ```
/// let rt = netpoll_runtime::runtime::Builder::new_multi_thread()
///     .worker_threads(2)
///     .thread_name("my-worker")
///     .enable_all()
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// ```
pub struct Builder {
    current_thread: bool,
    worker_threads: Option<usize>,
    thread_name: Arc<dyn Fn() -> String + Send + Sync>,
    stack_size: Option<usize>,
    max_blocking_threads: usize,
    keep_alive: Duration,
    global_queue_interval: u32,
    event_interval: u32,
    sysmon: bool,
    long_poll_threshold: Duration,
    syscall_threshold: Duration,
    max_handoff_threads: Option<usize>,
    log_long_polls: bool,
    hooks: Hooks,
    name: Option<String>,
    io_events_per_tick: usize,
    io_events_per_busy_tick: Option<usize>,
}

impl Builder {
    /// A builder for the multi-thread, work-stealing flavour.
    pub fn new_multi_thread() -> Builder {
        Builder {
            current_thread: false,
            worker_threads: None,
            thread_name: Arc::new(|| "netpoll-worker".to_string()),
            stack_size: None,
            max_blocking_threads: 512,
            keep_alive: Duration::from_secs(10),
            global_queue_interval: 61,
            event_interval: 61,
            sysmon: true,
            long_poll_threshold: Duration::from_millis(10),
            syscall_threshold: Duration::from_micros(20),
            max_handoff_threads: None,
            log_long_polls: true,
            hooks: Hooks::default(),
            name: None,
            io_events_per_tick: crate::io::driver::DEFAULT_EVENTS_PER_TICK,
            io_events_per_busy_tick: None,
        }
    }

    /// A builder for the current-thread flavour: tasks run on the thread in `block_on`.
    pub fn new_current_thread() -> Builder {
        Builder {
            current_thread: true,
            ..Builder::new_multi_thread()
        }
    }

    /// Number of worker threads. Default: the `NETPOLL_WORKERS` environment variable, else the
    /// number of cores.
    ///
    /// # Panics
    /// If `n` is 0.
    pub fn worker_threads(&mut self, n: usize) -> &mut Self {
        assert!(n > 0, "worker_threads must be at least 1");
        self.worker_threads = Some(n);
        self
    }

    /// Name of the runtime's threads (default `netpoll-worker`).
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Self {
        let name = name.into();
        self.thread_name = Arc::new(move || name.clone());
        self
    }

    /// A function naming the runtime's threads.
    pub fn thread_name_fn<F: Fn() -> String + Send + Sync + 'static>(&mut self, f: F) -> &mut Self {
        self.thread_name = Arc::new(f);
        self
    }

    /// Stack size of the runtime's threads.
    pub fn thread_stack_size(&mut self, size: usize) -> &mut Self {
        self.stack_size = Some(size);
        self
    }

    /// Cap on blocking-pool threads (default 512).
    ///
    /// # Panics
    /// If `n` is 0.
    pub fn max_blocking_threads(&mut self, n: usize) -> &mut Self {
        assert!(n > 0, "max_blocking_threads must be at least 1");
        self.max_blocking_threads = n;
        self
    }

    /// How long an idle blocking-pool thread lives (default 10 s).
    pub fn thread_keep_alive(&mut self, d: Duration) -> &mut Self {
        self.keep_alive = d;
        self
    }

    /// Every `n` polls a worker takes from the global queue first (default 61).
    ///
    /// # Panics
    /// If `n` is 0.
    pub fn global_queue_interval(&mut self, n: u32) -> &mut Self {
        assert!(n > 0, "global_queue_interval must be at least 1");
        self.global_queue_interval = n;
        self
    }

    /// Every `n` polls a worker drains the netpoller and fires due timers (default 61).
    ///
    /// # Panics
    /// If `n` is 0.
    pub fn event_interval(&mut self, n: u32) -> &mut Self {
        assert!(n > 0, "event_interval must be at least 1");
        self.event_interval = n;
        self
    }

    /// Runs sysmon (multi-thread flavour; default on). Without it nothing rescues queues stuck
    /// behind a blocked worker.
    pub fn sysmon(&mut self, on: bool) -> &mut Self {
        self.sysmon = on;
        self
    }

    /// How long one poll may run before sysmon counts it, logs it, and hands the worker's queue
    /// to another thread (default 10 ms).
    pub fn long_poll_threshold(&mut self, d: Duration) -> &mut Self {
        self.long_poll_threshold = d;
        self
    }

    /// How long a blocking call made inline on a worker (a syscall section: the file-system
    /// calls of `netpoll::fs`, `task::enter_syscall`) may run before sysmon hands the worker's
    /// queue to another thread, if that queue (or the global one) holds tasks (default 20 µs,
    /// Go's). A netpoll addition, multi-thread flavour with sysmon only. A value at or above
    /// [`long_poll_threshold`](Self::long_poll_threshold) leaves such calls to the long-poll
    /// rule.
    pub fn syscall_handoff_threshold(&mut self, d: Duration) -> &mut Self {
        self.syscall_threshold = d;
        self
    }

    /// How many threads beyond the workers hand-offs may start (default: the worker count).
    pub fn max_handoff_threads(&mut self, n: usize) -> &mut Self {
        self.max_handoff_threads = Some(n);
        self
    }

    /// Whether sysmon prints one line to stderr per long poll (default on).
    pub fn log_long_polls(&mut self, on: bool) -> &mut Self {
        self.log_long_polls = on;
        self
    }

    /// Runs `f` on each thread the runtime starts (workers, spares, blocking-pool threads),
    /// before it does anything else.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let started = Arc::new(AtomicUsize::new(0));
    /// let s = started.clone();
    /// let rt = netpoll_runtime::runtime::Builder::new_multi_thread()
    ///     .worker_threads(2)
    ///     .on_thread_start(move || {
    ///         s.fetch_add(1, Ordering::SeqCst);
    ///     })
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(async { netpoll_runtime::spawn(async {}).await.unwrap() });
    /// drop(rt);
    /// assert!(started.load(Ordering::SeqCst) >= 2);
    /// ```
    pub fn on_thread_start<F: Fn() + Send + Sync + 'static>(&mut self, f: F) -> &mut Self {
        self.hooks.start = Some(Arc::new(f));
        self
    }

    /// Runs `f` on each thread the runtime started, just before it exits.
    pub fn on_thread_stop<F: Fn() + Send + Sync + 'static>(&mut self, f: F) -> &mut Self {
        self.hooks.stop = Some(Arc::new(f));
        self
    }

    /// Runs `f` each time a worker is about to sleep for lack of work.
    pub fn on_thread_park<F: Fn() + Send + Sync + 'static>(&mut self, f: F) -> &mut Self {
        self.hooks.park = Some(Arc::new(f));
        self
    }

    /// Runs `f` each time a worker wakes from that sleep.
    pub fn on_thread_unpark<F: Fn() + Send + Sync + 'static>(&mut self, f: F) -> &mut Self {
        self.hooks.unpark = Some(Arc::new(f));
        self
    }

    /// Names the runtime; [`Handle::name`](super::Handle::name) returns it. The name is for
    /// telling runtimes apart (in logs, in metrics exports); it does not name threads (see
    /// [`thread_name`](Builder::thread_name)). Default: no name.
    ///
    /// ```
    /// let rt = netpoll_runtime::runtime::Builder::new_current_thread()
    ///     .name("ingest")
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(rt.handle().name(), Some("ingest"));
    /// ```
    pub fn name(&mut self, name: impl Into<String>) -> &mut Self {
        self.name = Some(name.into());
        self
    }

    /// The most readiness events one wait on the netpoller (one `epoll_wait`/`kevent`) takes
    /// from the kernel (default 1024): the size of the netpoller's event buffer. Events beyond
    /// it stay queued in the kernel for the next wait. `0` counts as 1.
    pub fn max_io_events_per_tick(&mut self, capacity: usize) -> &mut Self {
        self.io_events_per_tick = capacity.max(1);
        self
    }

    /// The most readiness events a worker takes from the netpoller when it checks it while it
    /// still has tasks to run (its periodic, non-blocking check every
    /// [`event_interval`](Builder::event_interval) polls). Default: the same as
    /// [`max_io_events_per_tick`](Builder::max_io_events_per_tick).
    ///
    /// A small value bounds how much new I/O work a loaded worker takes on per check, so the
    /// tasks it already has keep making progress; the events it leaves stay queued in the
    /// kernel (netpoll registers fds edge-triggered, and a ready fd stays on the kernel's ready
    /// list until a wait returns it), for the next check or for an idle worker. Waits of idle
    /// workers, of the worker blocked in the netpoller, and of sysmon are bounded by
    /// `max_io_events_per_tick` only.
    ///
    /// # Panics
    /// If `capacity` is 0.
    pub fn max_io_events_per_busy_tick(&mut self, capacity: usize) -> &mut Self {
        assert!(capacity > 0, "max_io_events_per_busy_tick must be non-zero");
        self.io_events_per_busy_tick = Some(capacity);
        self
    }

    /// Kept for tokio compatibility: I/O and timers are always enabled.
    pub fn enable_all(&mut self) -> &mut Self {
        self
    }

    /// Kept for tokio compatibility: I/O is always enabled.
    pub fn enable_io(&mut self) -> &mut Self {
        self
    }

    /// Kept for tokio compatibility: timers are always enabled.
    pub fn enable_time(&mut self) -> &mut Self {
        self
    }

    /// Builds the runtime and starts its threads.
    pub fn build(&mut self) -> io::Result<Runtime> {
        let num_workers = if self.current_thread {
            1
        } else {
            match self.worker_threads {
                Some(n) => n,
                None => default_workers()?,
            }
        };
        let config = Config {
            num_workers,
            current_thread: self.current_thread,
            thread_name: self.thread_name.clone(),
            stack_size: self.stack_size,
            global_queue_interval: self.global_queue_interval,
            event_interval: self.event_interval,
            sysmon: self.sysmon && !self.current_thread,
            long_poll_threshold: self.long_poll_threshold,
            syscall_threshold: self.syscall_threshold,
            max_handoff_threads: self.max_handoff_threads.unwrap_or(num_workers),
            log_long_polls: self.log_long_polls,
            max_blocking_threads: self.max_blocking_threads,
            blocking_keep_alive: self.keep_alive,
            hooks: self.hooks.clone(),
            name: self.name.clone(),
            io_events_per_tick: self.io_events_per_tick,
            io_events_per_busy_tick: self.io_events_per_busy_tick,
        };
        Runtime::start(Shared::new(config)?)
    }
}

impl Builder {
    /// Builds a [`LocalRuntime`](super::LocalRuntime): a current-thread runtime that also runs
    /// `!Send` tasks, like tokio's `Builder::build_local`.
    ///
    /// ```
    /// use netpoll_runtime::runtime::{Builder, LocalOptions};
    /// let rt = Builder::new_current_thread()
    ///     .enable_all()
    ///     .build_local(LocalOptions::default())
    ///     .unwrap();
    /// let n = std::rc::Rc::new(5);
    /// assert_eq!(rt.block_on(async { *n }), 5);
    /// ```
    ///
    /// # Panics
    /// If the builder is not a [`new_current_thread`](Builder::new_current_thread) one: a
    /// local runtime has one thread.
    pub fn build_local(&mut self, options: super::LocalOptions) -> io::Result<super::LocalRuntime> {
        assert!(
            self.current_thread,
            "build_local: only a current_thread builder can build a LocalRuntime"
        );
        let _ = options;
        Ok(super::LocalRuntime::from_runtime(self.build()?))
    }
}

/// `NETPOLL_WORKERS`, or the number of cores.
fn default_workers() -> io::Result<usize> {
    match std::env::var("NETPOLL_WORKERS") {
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("NETPOLL_WORKERS must be a positive integer, got {v:?}"),
            )),
        },
        Err(_) => Ok(std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)),
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("current_thread", &self.current_thread)
            .field("worker_threads", &self.worker_threads)
            .finish_non_exhaustive()
    }
}
