//! SIGINT and SIGTERM stop a run at the current virtual instant instead of killing the
//! process: the handler only records the signal, and a watcher thread sends `stop` through the
//! run's control handle, so the run ends as after a `stop` command and its report is printed
//! and written (marked interrupted), with its traces closed as valid files.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use faultline::{Command, ControlHandle};
use faultline_faults::ShutdownHandle;

/// The signal received, or 0. Written by the handler (an atomic store is async-signal-safe).
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// Whether [`install`] ran: without handlers there is nothing to watch.
static INSTALLED: AtomicBool = AtomicBool::new(false);

extern "C" fn record(signal: libc::c_int) {
    SIGNAL.store(signal, Ordering::SeqCst);
}

/// Installs the handlers for SIGINT and SIGTERM (a second signal of either kills as usual:
/// the handler resets itself, so a stuck process can still be stopped).
pub fn install() {
    INSTALLED.store(true, Ordering::SeqCst);
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: `record` only stores into an atomic, which is async-signal-safe; the
        // `sigaction` struct is zeroed and then filled as the C API requires.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = record as *const () as usize;
            action.sa_flags = libc::SA_RESETHAND;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// The signal that interrupted the run, if one did.
pub fn received() -> Option<i32> {
    Some(SIGNAL.load(Ordering::SeqCst)).filter(|s| *s != 0)
}

/// The exit code of a run interrupted by `signal`: 128 + its number (130 for SIGINT, 143 for
/// SIGTERM).
pub fn exit_code(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(255)
}

/// The name of a signal, for messages.
pub fn name(signal: i32) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

/// Watches for a signal during one run and stops the run when one comes; stops watching when
/// dropped.
pub struct Watch {
    done: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Watch {
    /// Starts watching: on a signal, `control` receives `stop` and live control (if any) shuts
    /// down, so that no client can keep the process alive. Without [`install`], it does nothing
    /// (a sweep's runs start no thread).
    pub fn start(control: ControlHandle, live: Option<ShutdownHandle>) -> Watch {
        let done = Arc::new(AtomicBool::new(false));
        if !INSTALLED.load(Ordering::SeqCst) {
            return Watch { done, thread: None };
        }
        let flag = done.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                if received().is_some() {
                    let _ = control.submit(Command::Stop);
                    if let Some(live) = &live {
                        live.shutdown();
                    }
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        Watch { done, thread: Some(thread) }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
