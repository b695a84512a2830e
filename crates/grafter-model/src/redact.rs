//! Keeping passwords out of everything grafter prints or stores.
//!
//! Every server URL is taken apart in one way, here ([`ServerUrl`]): connectors read user
//! and password from it and hand their drivers [`ServerUrl::for_driver`], so a password with
//! `/`, `#`, `?` or `@` in it reaches the server whole instead of leaking into a host name or
//! a path that a message then shows. Everything shown or stored goes through
//! [`redact_url`]; a driver's own message, which grafter did not write, goes through
//! [`hide_password`] / [`Secrets`].
//!
//! Redaction is conservative: it hides every span that *any* reasonable reading of the URL
//! would take for a password (grafter's rule, the RFC 3986 one, `password=` parameters), so
//! a URL that reads oddly or not at all may lose more than its password, never less.

use std::ops::Range;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// What a password becomes.
const MASK: &str = "***";

/// Query parameters whose value is a password (compared without regard to case).
const PASSWORD_PARAMETERS: &[&str] = &["password", "pass", "passwd", "pwd"];

/// Characters written as they are when user and password are written out for a driver:
/// RFC 3986's unreserved ones. Everything else is percent-encoded, so no driver can misread.
const USERINFO_KEPT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A server URL (`scheme://[user[:password]@]host…`) taken apart at its credentials, the one
/// way grafter reads them.
///
/// The user name runs to the first `:`, `/`, `?` or `#`; a password runs from that `:` to the
/// **last** `@` of the URL. So `postgres://app:p@ss/w#rd?@db/shop` is user `app` with password
/// `p@ss/w#rd?` at `db/shop`: a password needs no percent-encoding (a percent-encoded one is
/// decoded). The price: when a URL has a password, an `@` after the host (in a query value)
/// must be written `%40`. Without a password, the user name ends at the last `@` before the
/// host ends, so `me@corp.example@db/shop` is user `me@corp.example`.
///
/// `Debug` shows the URL redacted.
#[derive(Clone, Copy)]
pub struct ServerUrl<'a> {
    url: &'a str,
    scheme: &'a str,
    user: Option<&'a str>,
    password: Option<&'a str>,
    /// Host, port, path and query: everything after the credentials.
    rest: &'a str,
}

/// The user name or password of a URL is not UTF-8 once percent-decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {part} in the URL is not UTF-8 text once percent-decoded")]
pub struct CredentialsError {
    /// `user name` or `password`.
    pub part: &'static str,
}

impl<'a> ServerUrl<'a> {
    /// Takes `url` apart; `None` when it is not `scheme://…`.
    pub fn parse(url: &'a str) -> Option<ServerUrl<'a>> {
        let (scheme, after) = url.split_once("://")?;
        let spans = Spans::of(after);
        Some(ServerUrl {
            url,
            scheme,
            user: spans.user.map(|range| &after[range]),
            password: spans.password.map(|range| &after[range]),
            rest: &after[spans.rest_start..],
        })
    }

    /// The scheme, as written.
    pub fn scheme(&self) -> &'a str {
        self.scheme
    }

    /// Host, port, path and query: everything after the credentials.
    pub fn rest(&self) -> &'a str {
        self.rest
    }

    /// The user name, percent-decoded (`None` when the URL names none).
    pub fn user(&self) -> Result<Option<String>, CredentialsError> {
        self.user.filter(|user| !user.is_empty()).map(|user| decode(user, "user name")).transpose()
    }

    /// The password, percent-decoded (`None` when the URL has none).
    pub fn password(&self) -> Result<Option<String>, CredentialsError> {
        self.password.map(|password| decode(password, "password")).transpose()
    }

    /// The URL as a driver should read it: user and password percent-encoded, the rest as
    /// written. A driver that ends the credentials at the first `@` or at the first `/`
    /// (as `tokio-postgres` and the `url` crate do) then reads the same user and password.
    pub fn for_driver(&self) -> Result<String, CredentialsError> {
        let encode = |text: &str| utf8_percent_encode(text, USERINFO_KEPT).to_string();
        let credentials = match (self.user()?, self.password()?) {
            (None, None) => String::new(),
            (user, None) => format!("{}@", encode(&user.unwrap_or_default())),
            (user, Some(password)) => format!("{}:{}@", encode(&user.unwrap_or_default()), encode(&password)),
        };
        Ok(format!("{}://{credentials}{}", self.scheme, self.rest))
    }
}

impl std::fmt::Debug for ServerUrl<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_url(self.url))
    }
}

fn decode(text: &str, part: &'static str) -> Result<String, CredentialsError> {
    percent_decode_str(text).decode_utf8().map(|decoded| decoded.into_owned()).map_err(|_| CredentialsError { part })
}

/// Where, in the text after `scheme://`, grafter's rule puts user, password and the rest.
struct Spans {
    user: Option<Range<usize>>,
    password: Option<Range<usize>>,
    rest_start: usize,
}

impl Spans {
    fn of(after: &str) -> Spans {
        let stop = after.find([':', '/', '?', '#']).unwrap_or(after.len());
        if after[stop..].starts_with(':')
            && let Some(at) = after[stop..].rfind('@').map(|at| stop + at)
        {
            return Spans { user: Some(0..stop), password: Some(stop + 1..at), rest_start: at + 1 };
        }
        match after[..stop].rfind('@') {
            Some(at) => Spans { user: Some(0..at), password: None, rest_start: at + 1 },
            None => Spans { user: None, password: None, rest_start: 0 },
        }
    }
}

/// The URL with every password replaced by `***`: `postgres://app:s3cret@db/shop` becomes
/// `postgres://app:***@db/shop`, `bolt://db?password=s3cret` becomes `bolt://db?password=***`.
/// URLs without credentials come back unchanged; user names stay.
///
/// Conservative (see the module docs): what grafter's reading ([`ServerUrl`]) or RFC 3986's
/// would take for a password is hidden, and so is every `password=` (`pass=`, `passwd=`,
/// `pwd=`) value. Text that is no `scheme://` URL at all loses everything from its first `:`
/// to its last `@`, when it has both.
pub fn redact_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    let mut shown = 0;
    for span in merge(password_spans(url)) {
        out.push_str(&url[shown..span.start]);
        out.push_str(MASK);
        shown = span.end;
    }
    out.push_str(&url[shown..]);
    out
}

/// `text` (a driver's message, say) with the password of `url` hidden wherever it appears:
/// [`Secrets::hide`] for one URL.
pub fn hide_password(text: &str, url: &str) -> String {
    Secrets::of([url]).hide(text)
}

/// The passwords of some URLs, as written in them and percent-decoded, to hide from text
/// grafter did not write itself (a driver's or a server's message) before it is shown or
/// stored. `Debug` shows only how many there are.
///
/// Two choices keep messages readable. A password equal to its URL's user name is left
/// alone: it is no secret from anyone who sees the user name, and hiding it would hide the
/// user name, which a message needs (`password authentication failed for user "postgres"`).
/// And the URLs' own redacted forms are left as they are, so a password such as `postgres`
/// does not turn `postgres://app:***@db/shop` into `***://app:***@db/shop`.
#[derive(Clone, Default)]
pub struct Secrets {
    /// Longest first, so a password is hidden whole before a shorter one inside it.
    passwords: Vec<String>,
    /// The URLs as [`redact_url`] shows them, longest first.
    shown: Vec<String>,
}

impl Secrets {
    /// The passwords of `urls`.
    pub fn of<'a>(urls: impl IntoIterator<Item = &'a str>) -> Secrets {
        let mut secrets = Secrets::default();
        for url in urls {
            let user = ServerUrl::parse(url).and_then(|parsed| parsed.user().ok().flatten());
            let spans = password_spans(url);
            // A span inside another is a fragment of a password another reading sees whole
            // (`a` of `a@b/c`): hiding it would cut up every word holding an `a`.
            let whole = spans.iter().filter(|span| {
                !spans.iter().any(|other| other != *span && other.start <= span.start && span.end <= other.end)
            });
            for span in whole {
                let written = &url[span.clone()];
                let decoded = percent_decode_str(written).decode_utf8().ok().map(|decoded| decoded.into_owned());
                for password in std::iter::once(written.to_owned()).chain(decoded) {
                    if !password.is_empty() && Some(&password) != user.as_ref() {
                        secrets.passwords.push(password);
                    }
                }
            }
            secrets.shown.push(redact_url(url));
        }
        for list in [&mut secrets.passwords, &mut secrets.shown] {
            list.sort_by_key(|text| std::cmp::Reverse(text.len()));
            list.dedup();
        }
        secrets
    }

    /// `text` with every password replaced by `***`, the URLs' redacted forms left whole.
    pub fn hide(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        loop {
            let next_url = self
                .shown
                .iter()
                .filter(|url| !url.is_empty())
                .filter_map(|url| rest.find(url.as_str()).map(|at| (at, url.len())))
                .min_by_key(|&(at, len)| (at, std::cmp::Reverse(len)));
            let Some((at, len)) = next_url else { break };
            out.push_str(&self.hide_passwords(&rest[..at]));
            out.push_str(&rest[at..at + len]);
            rest = &rest[at + len..];
        }
        out.push_str(&self.hide_passwords(rest));
        out
    }

    fn hide_passwords(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for password in &self.passwords {
            if out.contains(password.as_str()) {
                out = out.replace(password.as_str(), MASK);
            }
        }
        out
    }
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} hidden)", self.passwords.len())
    }
}

/// Whether a URL query parameter called `name` holds a password (`password`, `pass`,
/// `passwd`, `pwd`, in any case): its value is never shown.
pub fn is_password_parameter(name: &str) -> bool {
    PASSWORD_PARAMETERS.iter().any(|known| known.eq_ignore_ascii_case(name))
}

/// Every span of `url` that some reading takes for a password.
fn password_spans(url: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    match url.find("://") {
        Some(scheme_end) => {
            let start = scheme_end + 3;
            let after = &url[start..];
            // grafter's reading.
            if let Some(password) = Spans::of(after).password {
                spans.push(start + password.start..start + password.end);
            }
            // RFC 3986: the authority ends at the first `/`, `?` or `#`; the userinfo at its
            // last `@`; the password starts after the userinfo's first `:`.
            let authority = &after[..after.find(['/', '?', '#']).unwrap_or(after.len())];
            if let Some(at) = authority.rfind('@')
                && let Some(colon) = authority[..at].find(':')
            {
                spans.push(start + colon + 1..start + at);
            }
        }
        None => {
            // Not a URL grafter can read: whatever could be `user:password@`.
            if let (Some(colon), Some(at)) = (url.find(':'), url.rfind('@'))
                && colon < at
            {
                spans.push(colon + 1..at);
            }
        }
    }
    spans.extend(parameter_spans(url));
    spans.retain(|span| !span.is_empty());
    spans
}

/// The values of `password=` parameters, wherever they stand (after `?`, `&`, `;`, a space,
/// or at the start), each to the next `&` or space.
fn parameter_spans(url: &str) -> Vec<Range<usize>> {
    let lower = url.to_ascii_lowercase();
    let mut spans = Vec::new();
    for name in PASSWORD_PARAMETERS {
        let pattern = format!("{name}=");
        for (at, _) in lower.match_indices(&pattern) {
            let starts_parameter =
                lower[..at].chars().next_back().is_none_or(|c| matches!(c, '?' | '&' | ';') || c.is_whitespace());
            if starts_parameter {
                let value_start = at + pattern.len();
                let value_end = url[value_start..]
                    .find(|c: char| c == '&' || c.is_whitespace())
                    .map_or(url.len(), |end| value_start + end);
                spans.push(value_start..value_end);
            }
        }
    }
    spans
}

/// The spans sorted, overlapping or touching ones joined.
fn merge(mut spans: Vec<Range<usize>>) -> Vec<Range<usize>> {
    spans.sort_by_key(|span| span.start);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(spans.len());
    for span in spans {
        match merged.last_mut() {
            Some(last) if span.start <= last.end => last.end = last.end.max(span.end),
            _ => merged.push(span),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Passwords that break naive URL handling, as written in a URL and as the server knows
    /// them.
    const AWKWARD: &[(&str, &str)] = &[
        ("p/ss", "p/ss"),
        ("p#ss", "p#ss"),
        ("p?ss", "p?ss"),
        ("p@ss", "p@ss"),
        ("a@b/c#d?e", "a@b/c#d?e"),
        ("%2F%40", "/@"),
        ("p%40ss", "p@ss"),
        ("pässwörd✓", "pässwörd✓"),
        ("p:ss", "p:ss"),
        ("s3cret", "s3cret"),
    ];

    #[test]
    fn awkward_passwords_are_read_whole_and_hidden_whole() {
        for (written, password) in AWKWARD {
            for scheme in ["postgres", "mysql", "falkordb", "bolt"] {
                let url = format!("{scheme}://app:{written}@db.example:5432/shop?sslmode=disable");
                let parsed = ServerUrl::parse(&url).unwrap();
                assert_eq!(parsed.user().unwrap().as_deref(), Some("app"), "{url}");
                assert_eq!(parsed.password().unwrap().as_deref(), Some(*password), "{url}");
                assert_eq!(parsed.rest(), "db.example:5432/shop?sslmode=disable", "{url}");
                let redacted = format!("{scheme}://app:***@db.example:5432/shop?sslmode=disable");
                assert_eq!(redact_url(&url), redacted);
                assert_eq!(format!("{parsed:?}"), redacted);
            }
        }
    }

    #[test]
    fn the_url_for_a_driver_encodes_the_credentials_so_it_cannot_misread_them() {
        let url = "postgres://app:a@b/c#d?e@db:5432/shop";
        let driver = ServerUrl::parse(url).unwrap().for_driver().unwrap();
        assert_eq!(driver, "postgres://app:a%40b%2Fc%23d%3Fe@db:5432/shop");
        let again = ServerUrl::parse(&driver).unwrap();
        assert_eq!(again.password().unwrap().as_deref(), Some("a@b/c#d?e"));
        assert_eq!(again.rest(), "db:5432/shop");
        let encoded = ServerUrl::parse("mysql://app:%2F%40@db/shop").unwrap();
        assert_eq!(encoded.for_driver().unwrap(), "mysql://app:%2F%40@db/shop");
        let plain = "mysql://db:3306/shop";
        assert_eq!(ServerUrl::parse(plain).unwrap().for_driver().unwrap(), plain);
    }

    #[test]
    fn user_names_without_a_password_may_hold_an_at_sign() {
        let parsed = ServerUrl::parse("postgres://me@corp.example@db/shop").unwrap();
        assert_eq!(parsed.user().unwrap().as_deref(), Some("me@corp.example"));
        assert_eq!(parsed.password().unwrap(), None);
        assert_eq!(parsed.rest(), "db/shop");
        let with_password = ServerUrl::parse("postgres://me@corp.example:p@ss@db/shop").unwrap();
        assert_eq!(with_password.user().unwrap().as_deref(), Some("me@corp.example"));
        assert_eq!(with_password.password().unwrap().as_deref(), Some("p@ss"));
        let no_credentials = ServerUrl::parse("postgres://db/shop?application_name=a@b").unwrap();
        assert_eq!((no_credentials.user().unwrap(), no_credentials.rest()), (None, "db/shop?application_name=a@b"));
    }

    #[test]
    fn after_a_port_an_at_sign_must_be_percent_encoded() {
        // `:5432/shop?application_name=a` reads as a password: the rule's documented price.
        let misread = ServerUrl::parse("postgres://db:5432/shop?application_name=a@b").unwrap();
        assert_eq!(misread.rest(), "b");
        let encoded = ServerUrl::parse("postgres://db:5432/shop?application_name=a%40b").unwrap();
        assert_eq!((encoded.user().unwrap(), encoded.rest()), (None, "db:5432/shop?application_name=a%40b"));
    }

    #[test]
    fn credentials_that_are_not_utf8_are_refused_without_showing_them() {
        let error = ServerUrl::parse("postgres://app:%FF%FE@db/shop").unwrap().password().unwrap_err();
        assert_eq!(error.to_string(), "the password in the URL is not UTF-8 text once percent-decoded");
    }

    #[test]
    fn password_parameters_are_hidden_wherever_they_stand() {
        assert_eq!(redact_url("bolt://h:7687?user=neo&password=x"), "bolt://h:7687?user=neo&password=***");
        assert_eq!(redact_url("bolt://h?PASSWORD=p@ss&db=x"), "bolt://h?PASSWORD=***&db=x");
        assert_eq!(redact_url("host=h pwd=s3cret dbname=x"), "host=h pwd=*** dbname=x");
        // Read as user `h`, password `7687?password=p`, the port is hidden with the rest.
        assert_eq!(redact_url("bolt://h:7687?password=p@ss"), "bolt://h:***");
        assert_eq!(redact_url("bolt://h?mypassword=visible"), "bolt://h?mypassword=visible");
    }

    #[test]
    fn text_that_is_no_url_loses_everything_between_its_first_colon_and_last_at() {
        assert_eq!(redact_url("postgres:app:s3cret@db/shop"), "postgres:***@db/shop");
        assert_eq!(redact_url("mysql//app:p/ss@db"), "mysql//app:***@db");
        assert_eq!(redact_url("app:p#ss@db"), "app:***@db");
        // The price of never guessing wrong: a file path with an `@` is shown cut.
        assert_eq!(redact_url("sqlite:data/me@home.db"), "sqlite:***@home.db");
    }

    #[test]
    fn urls_without_credentials_are_unchanged() {
        for url in [
            "sqlite:data/x.db",
            "postgres://app@db/shop",
            "csv:dir",
            "grafeo:graph.grafeo",
            "falkordb://127.0.0.1:6380/g",
        ] {
            assert_eq!(redact_url(url), url);
        }
    }

    #[test]
    fn driver_messages_lose_the_password_in_every_form_but_keep_the_user() {
        let url = "postgres://app:p%40ss@db/shop";
        assert_eq!(
            hide_password("auth failed for app with p@ss or p%40ss", url),
            "auth failed for app with *** or ***"
        );
        let same = "postgres://postgres:postgres@db/shop";
        let message = "password authentication failed for user \"postgres\"";
        assert_eq!(hide_password(message, same), message);
        assert_eq!(hide_password("role app: x", "postgres://db/shop"), "role app: x");
        assert_eq!(hide_password("bad p@ss", "bolt://h?password=p@ss"), "bad ***");
        let both = Secrets::of(["postgres://u:first@db/x", "bolt://n:second@graph"]);
        assert_eq!(both.hide("first, second, third"), "***, ***, third");
        assert_eq!(format!("{both:?}"), "Secrets(2 hidden)");
    }

    #[test]
    fn a_password_that_is_a_common_word_leaves_the_url_and_the_user_name_readable() {
        let url = "postgres://app:postgres@db/shop";
        let message = "postgres://app:***@db/shop: role app: password postgres rejected";
        assert_eq!(hide_password(message, url), "postgres://app:***@db/shop: role app: password *** rejected");
    }

    #[test]
    fn fragments_another_reading_sees_inside_a_password_are_not_hidden_alone() {
        // RFC 3986 reads the password of this URL as `a`; grafter reads `a@b/c#d?e`.
        let url = "postgres://app:a@b/c#d?e@db/shop";
        assert_eq!(hide_password("cannot reach a@b/c#d?e at db", url), "cannot reach *** at db");
    }
}
