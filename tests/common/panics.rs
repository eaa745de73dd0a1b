//! Where a panic happened: for the tests that the library's panics point at the caller's line.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

/// A panic on this thread while [`panic_location`] watches for it.
struct Caught {
    file: String,
    line: u32,
    message: String,
}

thread_local! {
    /// `Some` while [`panic_location`] runs on this thread; then the panic it caught, if any.
    static CAUGHT: RefCell<Option<Option<Caught>>> = const { RefCell::new(None) };
}

/// Runs `f`, which must panic on this thread with a message containing `needle` (`""` for any
/// message), and returns the file and line the panic reports.
///
/// The panic hook is installed once per test binary and records only the panics of threads inside
/// `panic_location` (others go to the previous hook), so tests running in parallel do not interfere.
#[track_caller]
pub fn panic_location(needle: &str, f: impl FnOnce()) -> (String, u32) {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let watched = CAUGHT.with(|c| {
                let mut c = c.borrow_mut();
                let Some(caught) = c.as_mut() else {
                    return false;
                };
                let payload = info.payload();
                let message = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                let (file, line) = info
                    .location()
                    .map_or((String::new(), 0), |l| (l.file().to_owned(), l.line()));
                *caught = Some(Caught {
                    file,
                    line,
                    message,
                });
                true
            });
            if !watched {
                previous(info);
            }
        }));
    });
    CAUGHT.with(|c| *c.borrow_mut() = Some(None));
    let result = catch_unwind(AssertUnwindSafe(f));
    let caught = CAUGHT.with(|c| c.borrow_mut().take()).flatten();
    assert!(result.is_err(), "expected a panic");
    let caught = caught.expect("the panic went through the hook");
    assert!(
        caught.message.contains(needle),
        "the panic message {:?} does not contain {needle:?}",
        caught.message
    );
    assert!(caught.line > 0, "the panic has a location");
    (caught.file, caught.line)
}
