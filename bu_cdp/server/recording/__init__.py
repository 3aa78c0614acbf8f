"""Recording a browser's screen to WebM: the recorder hooks, the encoder child process and
the server's handle on it, and the finished videos on disk."""
