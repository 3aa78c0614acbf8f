"""The bu-cdp local server: the v3 API with real Chromium, for offline use, CI and tests."""
