//! Keeping passwords out of everything grafter prints or stores: [`redact_url`].

/// The URL with any password replaced by `***`: `postgres://app:s3cret@db/shop` becomes
/// `postgres://app:***@db/shop`. Also hides `password=` query parameters. URLs without
/// credentials come back unchanged.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let authority_start = scheme_end + 3;
        let authority_end = out[authority_start..].find(['/', '?', '#']).map_or(out.len(), |i| authority_start + i);
        if let Some(at) = out[authority_start..authority_end].rfind('@') {
            let userinfo = &out[authority_start..authority_start + at];
            if let Some(colon) = userinfo.find(':') {
                let password_start = authority_start + colon + 1;
                out.replace_range(password_start..authority_start + at, "***");
            }
        }
    }
    redact_query_password(&out)
}

fn redact_query_password(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else { return url.to_owned() };
    let parts: Vec<String> = query
        .split('&')
        .map(|part| match part.split_once('=') {
            Some((name, _)) if name.eq_ignore_ascii_case("password") || name.eq_ignore_ascii_case("pass") => {
                format!("{name}=***")
            }
            _ => part.to_owned(),
        })
        .collect();
    format!("{base}?{}", parts.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(redact_url("postgres://app:s3cret@db:5432/shop"), "postgres://app:***@db:5432/shop");
        assert_eq!(redact_url("mysql://root:p%40ss@h/db?ssl=1"), "mysql://root:***@h/db?ssl=1");
        assert_eq!(redact_url("bolt://h:7687?user=neo&password=x"), "bolt://h:7687?user=neo&password=***");
    }

    #[test]
    fn urls_without_credentials_are_unchanged() {
        assert_eq!(redact_url("sqlite:data/x.db"), "sqlite:data/x.db");
        assert_eq!(redact_url("postgres://app@db/shop"), "postgres://app@db/shop");
    }
}
