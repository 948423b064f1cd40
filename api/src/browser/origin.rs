//! A web origin (`scheme://host[:port]`), parsed once and compared by value,
//! so `https://App.example.com:443` and `https://app.example.com` are one.

use std::fmt;

/// An `http` or `https` origin with its host lowercased and its port explicit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    https: bool,
    host: String,
    port: u16,
}

impl Origin {
    /// Parses an origin as browsers send it in `Origin`: a scheme, a host and
    /// an optional port; no path, query, user or wildcard.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let invalid = |why: &str| format!("`{text}` is not an origin (scheme://host[:port]): {why}");
        let (scheme, authority) = text.split_once("://").ok_or_else(|| invalid("no scheme"))?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            _ => return Err(invalid("the scheme must be http or https")),
        };
        Self::from_authority(https, authority).map_err(invalid)
    }

    /// The origin a request addressed to `authority` (a `Host` value) over
    /// `https` or plain HTTP belongs to.
    pub fn from_authority(https: bool, authority: &str) -> Result<Self, &'static str> {
        if authority.is_empty() || authority.contains(['/', '?', '#', '@', '*', ' ']) {
            return Err("only a host and an optional port may follow the scheme");
        }
        let parsed: poem::http::uri::Authority = authority.parse().map_err(|_| "the host is malformed")?;
        if parsed.host().is_empty() {
            return Err("the host is empty");
        }
        let port = match &authority[parsed.host().len()..] {
            "" if https => 443,
            "" => 80,
            rest => {
                rest.strip_prefix(':').and_then(|p| p.parse().ok()).ok_or("the port is not a number up to 65535")?
            }
        };
        Ok(Self { https, host: parsed.host().to_ascii_lowercase(), port })
    }
}

impl fmt::Display for Origin {
    /// The origin as a browser serialises it: the default port left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (scheme, default_port) = if self.https { ("https", 443) } else { ("http", 80) };
        write!(f, "{scheme}://{}", self.host)?;
        if self.port != default_port {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Origin;

    #[test]
    fn origins_that_differ_only_in_case_or_a_default_port_are_equal() {
        let a = Origin::parse("https://App.Example.com:443").expect("origin");
        assert_eq!(a, Origin::parse("https://app.example.com").expect("origin"));
        assert_eq!(a.to_string(), "https://app.example.com");
        assert_ne!(a, Origin::parse("http://app.example.com").expect("origin"));
        assert_ne!(a, Origin::parse("https://app.example.com:8443").expect("origin"));
        assert_eq!(Origin::parse("http://[::1]:5173").expect("origin").to_string(), "http://[::1]:5173");
    }

    #[test]
    fn paths_wildcards_users_and_other_schemes_are_not_origins() {
        for bad in [
            "",
            "*",
            "null",
            "app.example.com",
            "https://",
            "https://app.example.com/",
            "https://app.example.com/path",
            "https://*.example.com",
            "https://user@app.example.com",
            "https://app.example.com:",
            "https://app.example.com:99999",
            "ftp://app.example.com",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad:?} parsed");
        }
    }
}
