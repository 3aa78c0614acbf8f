"""CDP through the server's own port: the websocket of each browser spoken on the socket
(``cdp_socket``), what a relayed client may not do (``client_rules``), the addresses."""
