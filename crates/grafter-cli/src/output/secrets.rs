//! The passwords of the URLs this invocation uses, remembered as the config is loaded (or
//! `init --from` is read), so that the one place that prints errors ([`crate::main`]'s) can
//! hide them: an error may carry a driver's or a server's message, which grafter did not
//! write and cannot vouch for.

use std::sync::{Mutex, PoisonError};

use grafter_model::Secrets;

static URLS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Remembers `url`, whose password must never be printed.
pub fn remember(url: &str) {
    URLS.lock().unwrap_or_else(PoisonError::into_inner).push(url.to_owned());
}

/// `text` with the passwords of every remembered URL replaced by `***`.
pub fn hide(text: &str) -> String {
    let urls = URLS.lock().unwrap_or_else(PoisonError::into_inner);
    Secrets::of(urls.iter().map(String::as_str)).hide(text)
}
