"""The bu-cdp local server: the v3 API with real Chromium, for offline use, CI and tests.

Entry points here: ``app.create_app`` (the ASGI app, wiring the parts), ``serve`` (uvicorn,
foreground), ``thread.ServerThread`` (in a thread), ``persistence`` (the data folder's parts
opened together) and ``config.ServerConfig``, which every part reads. The parts, each a
sub-package, import only parts listed after them:

api (routes of both faces) > sessions > storage > recording > screen, relay, proxies >
browsers > chromium > shared
"""
