"""The course in a real browser: JupyterLab + headless Chromium (Playwright) end-to-end tests."""
