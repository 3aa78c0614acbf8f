"""Upstream proxies: which one a browser goes through, and the local forwarder that adds the
credentials (HTTP/1 and SOCKS5 towards Chromium, HTTP/1 towards the upstream)."""
