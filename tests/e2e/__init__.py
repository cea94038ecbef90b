"""Real-browser tests: Chromium, driven by Playwright, against a live server."""
