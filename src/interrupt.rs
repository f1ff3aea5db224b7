//! Unfinished output files are removed when the program is interrupted.
//!
//! An output is written to a temporary file beside its destination and renamed into place at the end
//! ([`crate::wav::WavOutput`]). Dropping it removes the temporary file, but a signal whose default action
//! ends the process skips every destructor. So each temporary file is registered here while it exists, and
//! [`remove_unfinished_outputs_on_interrupt`] installs handlers for SIGINT, SIGTERM and SIGHUP that unlink
//! the registered files and then end the process with the same signal (its default action, so the parent
//! sees the usual status). SIGXFSZ (a file-size limit) is ignored instead, so the write that passes the limit
//! fails with EFBIG and the ordinary error path removes the file. SIGKILL cannot be caught.
//!
//! The handler only loads and swaps atomics and calls `unlink`, `signal` and `raise`, all async-signal-safe
//! (POSIX.1-2017, 2.4.3); it never allocates or frees.

use std::path::Path;

/// How many temporary files can be registered at once (the CLI writes one output at a time).
#[cfg(unix)]
const SLOTS: usize = 8;

#[cfg(unix)]
mod imp {
    use super::SLOTS;
    use std::ffi::{c_char, c_int, CString};
    use std::path::Path;
    use std::ptr::null_mut;
    use std::sync::atomic::{AtomicPtr, Ordering};

    /// The registered paths, as C strings owned by their [`Registration`] (null: a free slot).
    static PENDING: [AtomicPtr<c_char>; SLOTS] = [const { AtomicPtr::new(null_mut()) }; SLOTS];

    /// The signals whose default action ends the process and which a user or a session sends to stop a run.
    const HANDLED: [c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

    extern "C" fn remove_and_reraise(signal: c_int) {
        for slot in &PENDING {
            // Taken out of its slot: the Registration's drop then finds it gone and does not free it.
            let path = slot.swap(null_mut(), Ordering::AcqRel);
            if !path.is_null() {
                // SAFETY: a NUL-terminated string leaked by `register`, never freed once taken here.
                unsafe { libc::unlink(path) };
            }
        }
        // SAFETY: async-signal-safe calls; the default action then ends the process with this signal.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
    }

    pub fn install() {
        for signal in HANDLED {
            // SAFETY: installing a handler that only makes async-signal-safe calls. A signal the parent
            // ignores (nohup, a background job's SIGINT) stays ignored, as a well-behaved program does.
            unsafe {
                let previous = libc::signal(signal, remove_and_reraise as extern "C" fn(c_int) as libc::sighandler_t);
                if previous == libc::SIG_IGN {
                    libc::signal(signal, libc::SIG_IGN);
                }
            }
        }
        // SAFETY: ignoring SIGXFSZ makes a write past the file-size limit fail with EFBIG instead of ending
        // the process, so the temporary file is removed on the ordinary error path.
        unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    }

    /// A registered temporary file; dropping it unregisters it (the file itself is not touched).
    pub struct Registration {
        slot: Option<usize>,
    }

    pub fn register(path: &Path) -> Registration {
        use std::os::unix::ffi::OsStrExt;
        let Ok(text) = CString::new(path.as_os_str().as_bytes()) else {
            return Registration { slot: None };
        };
        let raw = text.into_raw();
        for (i, slot) in PENDING.iter().enumerate() {
            if slot
                .compare_exchange(null_mut(), raw, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                return Registration { slot: Some(i) };
            }
        }
        // Every slot taken: this file is not removed on a signal (still on every ordinary exit).
        // SAFETY: `raw` came from `into_raw` just above and was never shared.
        drop(unsafe { CString::from_raw(raw) });
        Registration { slot: None }
    }

    impl Drop for Registration {
        fn drop(&mut self) {
            if let Some(i) = self.slot {
                let raw = PENDING[i].swap(null_mut(), Ordering::AcqRel);
                if !raw.is_null() {
                    // SAFETY: ours from `register`, and now out of the slot, so no handler can take it.
                    drop(unsafe { CString::from_raw(raw) });
                }
            }
        }
    }
}

#[cfg(not(unix))]
mod imp {
    use std::path::Path;

    pub fn install() {}

    pub struct Registration;

    pub fn register(_: &Path) -> Registration {
        Registration
    }
}

/// A temporary file that an interrupting signal removes, for as long as this value lives.
pub struct Registration(#[allow(dead_code)] imp::Registration);

/// Registers a temporary file for removal on SIGINT, SIGTERM or SIGHUP (see the module documentation).
pub fn register(path: &Path) -> Registration {
    Registration(imp::register(path))
}

/// Installs the signal handlers that remove registered temporary files (once, at program start; a no-op
/// outside Unix).
pub fn remove_unfinished_outputs_on_interrupt() {
    imp::install();
}
