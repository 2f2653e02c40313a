"""Outbound network: the one fetcher every URL goes through (SSRF policy, pinned addresses, caps)."""
