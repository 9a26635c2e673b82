use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::runtime::context;
use crate::scheduler::{Config, Shared};
use crate::task::Task;

pub(crate) struct BlockingPool {
    state: Mutex<State>,
    /// Idle threads wait here for work.
    work_cv: Condvar,
    /// Shutdown waits here for `threads == 0`.
    done_cv: Condvar,
    max_threads: usize,
    keep_alive: Duration,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Task>,
    threads: usize,
    idle: usize,
    /// Notifications sent and not yet claimed by an idle thread.
    notified: usize,
    shutdown: bool,
    handles: Vec<std::thread::JoinHandle<()>>,
}

impl BlockingPool {
    pub(crate) fn new(config: &Config) -> BlockingPool {
        BlockingPool {
            state: Mutex::new(State::default()),
            work_cv: Condvar::new(),
            done_cv: Condvar::new(),
            max_threads: config.max_blocking_threads.max(1),
            keep_alive: config.blocking_keep_alive,
        }
    }

    /// Queues a blocking task; starts a thread if no idle one can take it (within the cap).
    /// Returns the task back if the pool is shut down.
    pub(crate) fn spawn(&self, shared: &Arc<Shared>, task: Task) -> Result<(), Task> {
        let mut st = self.state.lock();
        if st.shutdown {
            return Err(task);
        }
        st.queue.push_back(task);
        if st.idle > st.notified {
            st.notified += 1;
            self.work_cv.notify_one();
        } else if st.threads < self.max_threads {
            st.handles.retain(|h| !h.is_finished());
            let sh = shared.clone();
            let name = format!("{}-blocking", (shared.config.thread_name)());
            let mut b = std::thread::Builder::new().name(name);
            if let Some(size) = shared.config.stack_size {
                b = b.stack_size(size);
            }
            match b.spawn(move || run(sh)) {
                Ok(h) => {
                    st.threads += 1;
                    st.handles.push(h);
                }
                // A thread could not be made; an existing one will get to the task.
                Err(e) if st.threads > 0 => {
                    let _ = e;
                }
                Err(e) => {
                    let task = st.queue.pop_back();
                    drop(st);
                    eprintln!("netpoll: cannot start a blocking-pool thread: {e}");
                    if let Some(t) = task {
                        t.shutdown();
                    }
                }
            }
        }
        Ok(())
    }

    pub(crate) fn num_threads(&self) -> usize {
        self.state.lock().threads
    }

    pub(crate) fn num_idle_threads(&self) -> usize {
        self.state.lock().idle
    }

    pub(crate) fn queue_depth(&self) -> usize {
        self.state.lock().queue.len()
    }

    /// Stops the pool: queued tasks that never started are cancelled; threads running a task
    /// are waited for until `deadline`, then detached. Returns the threads still running.
    pub(crate) fn shutdown(&self, deadline: Instant) -> usize {
        let queued: Vec<Task> = {
            let mut st = self.state.lock();
            st.shutdown = true;
            self.work_cv.notify_all();
            st.queue.drain(..).collect()
        };
        for t in queued {
            t.shutdown();
        }
        let mut st = self.state.lock();
        while st.threads > 0 {
            if self.done_cv.wait_until(&mut st, deadline).timed_out() {
                break;
            }
        }
        let handles = std::mem::take(&mut st.handles);
        let left = st.threads;
        drop(st);
        for h in handles {
            if h.is_finished() {
                let _ = h.join();
            }
        }
        left
    }
}

fn run(shared: Arc<Shared>) {
    let _ctx = context::enter_blocking_thread(&shared);
    let _hooks = shared.config.hooks.thread_started();
    let pool = &shared.blocking;
    let mut st = pool.state.lock();
    loop {
        while let Some(task) = st.queue.pop_front() {
            drop(st);
            let _ = task.run();
            st = pool.state.lock();
        }
        if st.shutdown {
            break;
        }
        st.idle += 1;
        let timed_out = pool.work_cv.wait_for(&mut st, pool.keep_alive).timed_out();
        st.idle -= 1;
        if st.notified > 0 {
            st.notified -= 1;
        } else if timed_out && st.queue.is_empty() {
            break;
        }
    }
    st.threads -= 1;
    if st.threads == 0 {
        pool.done_cv.notify_all();
    }
}
