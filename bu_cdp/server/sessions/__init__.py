"""Agent sessions: a task in words, run by an agent (``agent/``) on a browser of this server."""
