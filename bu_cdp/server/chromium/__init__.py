"""Chromium itself: finding and launching it, its DevTools pipe, a small CDP client, who it
runs as (isolation) and its work folders. Knows nothing of the API or of browsers' lives."""
