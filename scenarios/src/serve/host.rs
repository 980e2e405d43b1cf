//! The Host check against DNS rebinding: a page of another site that makes its name resolve to
//! 127.0.0.1 still sends its own name as `Host`, so a request is served only when `Host` is an
//! address this server answers on (or a name given with `--allow-host`).

use std::net::SocketAddr;

/// The `Host` values a server on `addr` answers to.
#[derive(Clone, Debug)]
pub struct Hosts {
    allowed: Vec<String>,
}

impl Hosts {
    /// The hosts of a server listening on `addr` (its loopback names too when it is on
    /// loopback), and `extra` names (`name` or `name:port`) given with `--allow-host`.
    pub fn new(addr: SocketAddr, extra: &[String]) -> Hosts {
        let port = addr.port();
        let mut names = vec![addr.to_string()];
        if addr.ip().is_loopback() {
            names.extend([format!("localhost:{port}"), format!("127.0.0.1:{port}"), format!("[::1]:{port}")]);
        }
        for name in extra {
            names.push(if name.contains(':') && !name.ends_with(']') {
                name.clone()
            } else {
                format!("{name}:{port}")
            });
        }
        let mut allowed: Vec<String> = Vec::new();
        for name in names.into_iter().map(|h| h.to_ascii_lowercase()) {
            if !allowed.contains(&name) {
                allowed.push(name);
            }
        }
        Hosts { allowed }
    }

    /// Whether a request with this `Host` header is served.
    pub fn allows(&self, host: Option<&str>) -> bool {
        host.is_some_and(|h| self.allowed.iter().any(|a| a.eq_ignore_ascii_case(h.trim())))
    }

    /// The hosts, for the refusal's message.
    pub fn list(&self) -> &[String] {
        &self.allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_served_host_and_its_loopback_names_pass() {
        let h = Hosts::new("127.0.0.1:8080".parse().unwrap(), &[]);
        assert!(h.allows(Some("127.0.0.1:8080")));
        assert!(h.allows(Some("LOCALHOST:8080")));
        assert!(!h.allows(Some("evil.example:8080")));
        assert!(!h.allows(Some("localhost:8081")));
        assert!(!h.allows(Some("localhost")));
        assert!(!h.allows(None));
        let h = Hosts::new("0.0.0.0:80".parse().unwrap(), &["lab.local".into()]);
        assert!(h.allows(Some("lab.local:80")));
        assert!(!h.allows(Some("localhost:80")));
    }
}
