"""The life of every browser: the manager (create, watch, time out, stop), the record of one
browser and the hooks features plug in with, the warm pool, admission, metrics."""
